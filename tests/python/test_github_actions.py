"""examples/github-actions.yml parses as YAML and does what the README says: builds, runs
scenarios/ci-security.toml with flags the binary has, writes summary.md to $GITHUB_STEP_SUMMARY, uploads the run
folder and publishes junit.xml even when the run failed, and lets a non-zero exit fail the job."""

import re

import yaml

WORKFLOW = "examples/github-actions.yml"


def steps(repo_root):
    doc = yaml.safe_load((repo_root / WORKFLOW).read_text())
    # YAML 1.1 reads the bare key `on` as True.
    assert doc.get("on", doc.get(True)) is not None, "no trigger"
    (job,) = doc["jobs"].values()
    return job["steps"]


def one(all_steps, pred, what):
    found = [s for s in all_steps if pred(s)]
    assert len(found) == 1, f"expected one step that {what}, found {found}"
    return found[0]


def test_the_workflow_builds_and_runs_the_ci_scenario_with_flags_that_exist(repo_root, tokenstorm):
    all_steps = steps(repo_root)
    one(all_steps, lambda s: "cargo build" in s.get("run", ""), "builds")
    run = one(all_steps, lambda s: "tokenstorm run" in s.get("run", ""), "runs tokenstorm")
    command = run["run"]
    scenario = re.search(r"\b(scenarios/\S+\.toml)\b", command).group(1)
    assert scenario == "scenarios/ci-security.toml"
    assert (repo_root / scenario).is_file()
    # A failing verdict (exit 1) must fail the job: nothing may swallow the exit code.
    assert not run.get("continue-on-error"), run
    assert "|| true" not in command and "if" not in run, run
    help_text = tokenstorm("run", "--help").stdout.decode()
    for flag in re.findall(r"(--[a-z-]+)", command):
        assert flag in help_text, f"{flag} is not a flag of `tokenstorm run`"
    out_dir = re.search(r"--out-dir (\S+)", command).group(1)

    summary = one(all_steps, lambda s: "GITHUB_STEP_SUMMARY" in s.get("run", ""), "writes the job summary")
    assert summary["if"] == "always()"
    assert f"{out_dir}/*/summary.md" in summary["run"]

    upload = one(all_steps, lambda s: s.get("uses", "").startswith("actions/upload-artifact@"), "uploads")
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == out_dir

    junit = one(all_steps, lambda s: "junit" in s.get("uses", ""), "publishes junit.xml")
    assert junit["if"] == "always()"
    assert junit["with"]["report_paths"] == f"{out_dir}/*/junit.xml"


def test_the_readme_points_to_the_workflow(repo_root):
    assert WORKFLOW in (repo_root / "README.md").read_text()

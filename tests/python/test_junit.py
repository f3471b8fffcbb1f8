"""junit.xml of real runs, read by junitparser (a JUnit reader nobody here wrote): one suite per run, one case
per invariant and per threshold with its stable name and a time, a failed one as a failure naming its evidence.

The binary comes from $TOKENSTORM_BIN, else target/debug/tokenstorm. Run: pytest tests/python
"""

import pathlib
import subprocess

from junitparser import Error, Failure, JUnitXml, Skipped

from test_report_schema import ROOT, binary


def run_dir(tmp_path: pathlib.Path, scenario: pathlib.Path, expect: int) -> pathlib.Path:
    out = tmp_path / "out"
    proc = subprocess.run(
        [binary(), "run", str(scenario), "--out-dir", str(out), "--quiet"],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert proc.returncode == expect, proc.stdout + proc.stderr
    dirs = list(out.iterdir())
    assert len(dirs) == 1
    return dirs[0]


def suite_of(folder: pathlib.Path):
    xml = JUnitXml.fromfile(str(folder / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 1
    return suites[0]


def results(case) -> list:
    return [r for r in case.result if isinstance(r, (Failure, Error, Skipped))]


def test_a_passing_run_is_a_green_suite(tmp_path):
    scenario = tmp_path / "green.toml"
    scenario.write_text("[run]\nduration_s = 60.0\nmax_attempts = 60\nrate_per_s = 300.0\n[devices]\ncount = 4\n")
    suite = suite_of(run_dir(tmp_path, scenario, 0))
    assert suite.name == "tokenstorm.green"
    assert suite.failures == 0 and suite.errors == 0
    assert suite.time > 0 and suite.timestamp
    cases = list(suite)
    names = [c.name for c in cases]
    assert "forged_never_invoked" in names and len(names) == len(set(names)) == suite.tests
    for c in cases:
        assert c.classname == "tokenstorm.green"
        assert c.time == 0.0
        assert not any(isinstance(r, (Failure, Error)) for r in results(c)), c.name
    again = suite_of(run_dir(tmp_path / "again", scenario, 0))
    assert [c.name for c in again] == names, "names stable across runs"


def test_a_failing_run_names_the_failed_invariant(tmp_path):
    scenario = tmp_path / "leaky.toml"
    scenario.write_text(
        "[run]\nduration_s = 60.0\nmax_attempts = 100\nrate_per_s = 1000.0\n"
        "[devices]\ncount = 10\n[authorizer]\nsigning_disabled = true\n"
        "[mix]\nvalid = 1.0\nforged = 2.0\nreplayed = 0.0\n"
        "[mix.forged_variants]\nunknown_authorizer = 0.0\ninactive_authorizer = 0.0\n"
    )
    folder = run_dir(tmp_path, scenario, 1)
    suite = suite_of(folder)
    assert suite.failures >= 1
    failed = {c.name: results(c)[0] for c in suite if any(isinstance(r, Failure) for r in results(c))}
    assert "forged_never_invoked" in failed
    assert failed["forged_never_invoked"].message
    summary = (folder / "summary.md").read_text()
    assert "| `forged_never_invoked` | FAIL |" in summary
    assert len(summary.encode()) < 1024 * 1024


def test_thresholds_are_testcases_named_by_their_expression(tmp_path):
    scenario = tmp_path / "thresholds.toml"
    scenario.write_text(
        "[run]\nduration_s = 60.0\nmax_attempts = 60\nrate_per_s = 300.0\n[devices]\ncount = 4\n"
        '[thresholds]\nchecks = ["errors.count == 0", "https.valid.allowed.count < 1"]\n'
    )
    suite = suite_of(run_dir(tmp_path, scenario, 1))
    cases = {c.name: c for c in suite}
    assert not results(cases["threshold: errors.count == 0"])
    [failure] = results(cases["threshold: https.valid.allowed.count < 1"])
    assert isinstance(failure, Failure)
    assert failure.message.startswith("observed ") and failure.message.endswith(", wanted < 1")
    assert suite.failures == 1

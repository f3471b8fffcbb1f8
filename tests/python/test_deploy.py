"""deploy/: the Kubernetes manifests render and validate, the shard-count knob works, and the image's steps run.

The kustomizations are rendered by the pinned kubectl (`kubectl kustomize`) and validated offline with
`kubernetes-validate --strict` against the oldest and newest Kubernetes schemas that know the Job fields used.
There is no Docker daemon here, so deploy/Dockerfile is replayed: the builder stage's sources are copied as its COPY
steps say (through .dockerignore) and cargo checks the manifest and lock file there offline (`cargo metadata
--locked --offline`; the release build itself takes minutes and is not run), and its build command is held to
`cargo build --release --locked`; the runtime stage's COPY, WORKDIR, USER and ENTRYPOINT are carried out in a
temporary root with the already-built debug binary standing for the release one, and the entrypoint runs the
shard Job's own arguments (`run SCENARIO --shard 0/2`, 1 s) as the image's user against the embedded emulator. The
runtime stage's RUN steps (apt-get, useradd) need the Debian base image and are only checked for the uid. The
merge Job's shell runs with the real `tokenstorm merge` over folders the shard Job's arguments wrote.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path

import pytest

import _dockerfile
import _kube


@pytest.fixture(scope="module")
def shards(repo_root):
    return _kube.render(repo_root / "deploy")


@pytest.fixture(scope="module")
def merge(repo_root):
    return _kube.render(repo_root / "deploy" / "merge")


def shard_job(manifests):
    return _kube.find(manifests, "Job", "tokenstorm-shards")


@pytest.mark.parametrize("version", _kube.VERSIONS)
def test_deploy_manifests_validate_strictly(shards, merge, version, tmp_path):
    for manifests in (shards, merge):
        out = _kube.validate(manifests, version, tmp_path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "did not validate" not in out.stdout + out.stderr


def test_deploy_strict_validation_catches_a_misspelt_field(shards, tmp_path):
    """The control for the test above: --strict refuses a field no schema has (so a typo cannot pass)."""
    broken = json.loads(json.dumps(shards))
    shard_job(broken)["spec"]["backoffLimitPerIndx"] = 2
    out = _kube.validate(broken, _kube.VERSIONS[0], tmp_path)
    assert out.returncode != 0
    assert "backoffLimitPerIndx" in out.stdout + out.stderr


def test_deploy_shard_count_knob_sets_completions_parallelism_and_shard_n(repo_root, shards, tmp_path):
    copy = tmp_path / "deploy"
    shutil.copytree(repo_root / "deploy", copy)
    kustomization = copy / "kustomization.yaml"
    text = kustomization.read_text()
    knob = re.compile(r"(value: )4( # SHARDS)")
    assert len(knob.findall(text)) == 1, "kustomization.yaml has one `value: 4 # SHARDS` knob"
    kustomization.write_text(knob.sub(r"\g<1>7\g<2>", text))

    for manifests, n in ((shards, 4), (_kube.render(copy), 7)):
        job = shard_job(manifests)
        assert job["spec"]["completions"] == n
        assert job["spec"]["parallelism"] == n
        c = _kube.container(job["spec"]["template"]["spec"], "tokenstorm")
        env = {**_kube.env_of(c), "JOB_COMPLETION_INDEX": str(n - 1)}
        args = [_kube.expand(a, env) for a in c["args"]]
        assert args[args.index("--shard") + 1] == f"{n - 1}/{n}"
        assert args[args.index("--out-dir") + 1] == f"/runs/shards/shard-{n - 1}"


def test_deploy_shard_job_fails_on_a_violation_and_retries_disruptions(shards):
    spec = shard_job(shards)["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["backoffLimitPerIndex"] >= 1
    assert spec["maxFailedIndexes"] == 0, "a shard lost for good fails the run at once: the merge would refuse it"
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    # The merge takes each index's newest run folder: a retry starts only after the failed pod has ended.
    assert spec["podReplacementPolicy"] == "Failed"
    rules = spec["podFailurePolicy"]["rules"]
    # The disruption rule comes first: an evicted pod exits 3 (interrupted), and that attempt must be retried.
    assert rules[0]["action"] == "Ignore"
    assert rules[0]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    fail = [r for r in rules if r["action"] == "FailJob"]
    assert [r["onExitCodes"] for r in fail] == [{"containerName": "tokenstorm", "operator": "In", "values": [1, 2]}]
    # Exit 3 without a disruption, crashes and OOM kills fall through to the default (count, retry the index).
    assert all(3 not in r.get("onExitCodes", {}).get("values", []) for r in rules)


def test_deploy_pods_run_as_the_images_user_with_safe_sysctls_only(repo_root, shards, merge):
    stages = _dockerfile.parse((repo_root / "deploy" / "Dockerfile").read_text())
    user = stages[-1].all("USER")[-1]
    uid = int(user.split(":")[0])
    assert any(f"--uid {uid}" in run for run in stages[-1].all("RUN")), "the runtime stage creates the USER"
    pods = [shard_job(shards)["spec"]["template"]["spec"], _kube.find(merge, "Job", "tokenstorm-merge")]
    pods[1] = pods[1]["spec"]["template"]["spec"]
    pods.append(_kube.find(merge, "Pod", "tokenstorm-collect")["spec"])
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        for c in pod["containers"]:
            assert c["image"].startswith("tokenstorm"), "the Component in deploy/image sets every image"
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # Only sysctls of Kubernetes' safe set, which every kubelet allows (README "Kubernetes" names the unsafe ones).
    safe = {"net.ipv4.ip_local_port_range", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout"}
    assert {s["name"] for s in pods[0]["securityContext"]["sysctls"]} <= safe
    claims = {v["persistentVolumeClaim"]["claimName"] for pod in pods for v in pod["volumes"]}
    assert claims == {_kube.find(shards, "PersistentVolumeClaim", "tokenstorm-runs")["metadata"]["name"]}


def test_deploy_scenario_targets_the_embedded_emulator(repo_root, shards):
    """No manifest points at a real endpoint by default: the Job's scenario has no [target], so each pod runs its
    own embedded emulator on loopback."""
    c = _kube.container(shard_job(shards)["spec"]["template"]["spec"], "tokenstorm")
    scenario = tomllib.loads((repo_root / _kube.env_of(c)["SCENARIO"]).read_text())
    assert "target" not in scenario
    assert "--allow-remote" not in c["args"]


def test_dockerignore_keeps_builds_venv_and_run_folders_out(repo_root):
    patterns = _dockerfile.ignore_patterns(repo_root)
    for path in ("target/debug/tokenstorm", ".venv/bin/python", "reports/x/report.json", "tests/python/__pycache__/a"):
        assert _dockerfile.ignored(path, patterns), path
    for path in ("src/main.rs", "scenarios/capacity-mqtt-10k.toml", "Cargo.lock"):
        assert not _dockerfile.ignored(path, patterns), path


def test_dockerfile_builder_stage_has_what_cargo_build_locked_needs(repo_root, tmp_path):
    build = _dockerfile.parse((repo_root / "deploy" / "Dockerfile").read_text())[0]
    assert build.base.startswith("rust:") and build.name == "build"
    runs = [r for r in build.all("RUN") if "cargo " in r]
    assert len(runs) == 1 and runs[0].startswith("cargo build --release --locked"), runs
    # The builder's copies, laid out as in the image; cargo reads the manifest and resolves it against the lock file
    # offline (with --no-deps it would skip the resolution, and so the --locked check).
    src = tmp_path / "root"
    _dockerfile.lay_out(build, src, repo_root, {})
    workdir = src / build.all("WORKDIR")[-1].lstrip("/")
    out = subprocess.run(
        ["cargo", "metadata", "--locked", "--offline", "--format-version", "1"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    metadata = json.loads(out.stdout)
    [package] = [p for p in metadata["packages"] if p["id"] in metadata["workspace_members"]]
    for target in package["targets"]:
        assert Path(target["src_path"]).is_file(), f"the builder stage does not copy {target['src_path']}"


def test_dockerfile_runtime_stage_runs_the_shard_jobs_command(repo_root, tokenstorm_bin, shards):
    stages = _dockerfile.parse((repo_root / "deploy" / "Dockerfile").read_text())
    build, runtime = stages[0], stages[-1]
    assert runtime.base.startswith("debian:") and "slim" in runtime.base
    assert any("ca-certificates" in r for r in runtime.all("RUN"))
    built = f"{build.all('WORKDIR')[-1]}/target/release/tokenstorm"
    with tempfile.TemporaryDirectory(prefix="tokenstorm-image-") as tmp:
        root = Path(tmp) / "root"
        image = _dockerfile.lay_out(runtime, root, repo_root, {(build.name, built): tokenstorm_bin})
        assert image.entrypoint == ["tokenstorm"]
        uid, gid = (int(x) for x in image.user.split(":"))
        runs = Path(tmp) / "runs"
        runs.mkdir()
        for path in (Path(tmp), root, *root.rglob("*")):
            os.chmod(path, os.stat(path).st_mode | 0o755 if path.is_dir() else os.stat(path).st_mode | 0o444)
        if os.geteuid() == 0:
            os.chown(runs, uid, gid)
        c = _kube.container(shard_job(shards)["spec"]["template"]["spec"], "tokenstorm")
        env = {**_kube.env_of(c), "SHARDS": "2", "JOB_COMPLETION_INDEX": "0", "RUNS": str(runs)}

        def in_image(*args):
            return subprocess.run(
                [str(root / "usr/local/bin" / image.entrypoint[0]), *args],
                cwd=root / image.workdir.relative_to("/"),
                env={"PATH": f"{root}/usr/local/bin:/usr/bin:/bin", "HOME": str(root / "opt")},
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                **({"user": uid, "group": gid, "extra_groups": []} if os.geteuid() == 0 else {}),
            )

        out = in_image(*image.cmd)  # the image run without arguments
        assert out.returncode == 0 and "Usage: tokenstorm" in out.stdout, out.stdout + out.stderr
        out = in_image(*[_kube.expand(a, env) for a in c["args"]], "--duration", "1")
        assert out.returncode == 0, out.stdout + out.stderr
        folders = list((runs / "shards" / "shard-0").iterdir())
        assert len(folders) == 1
        report = json.loads((folders[0] / "report.json").read_text())
        assert report["shard"] == {"index": 0, "count": 2}
        if os.geteuid() == 0:
            assert folders[0].stat().st_uid == uid, "the run wrote as the image's user"


def merge_script(merge) -> str:
    c = _kube.container(_kube.find(merge, "Job", "tokenstorm-merge")["spec"]["template"]["spec"], "merge")
    assert c["command"] == ["/bin/sh", "-c"] and len(c["args"]) == 1
    return c["args"][0]


def run_merge_script(script: str, runs: Path, bin_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["/bin/sh", "-c", script],
        env={"RUNS": str(runs), "PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_deploy_merge_job_merges_the_newest_attempt_of_each_shard(tokenstorm, tokenstorm_bin, shards, merge, tmp_path):
    """The shard Job's arguments for 2 shards, index 0 twice (as a retried index runs), then the merge Job's shell
    with the real `tokenstorm merge` on PATH: it passes the newer attempt of index 0, and the merged run passes."""
    runs = tmp_path / "runs"
    c = _kube.container(shard_job(shards)["spec"]["template"]["spec"], "tokenstorm")
    for index in (0, 0, 1):
        env = {**_kube.env_of(c), "SHARDS": "2", "JOB_COMPLETION_INDEX": str(index), "RUNS": str(runs)}
        out = tokenstorm(*[_kube.expand(a, env) for a in c["args"]], "--duration", "1")
        assert out.returncode == 0, out.stderr.decode()
    attempts = sorted((runs / "shards" / "shard-0").iterdir())
    assert len(attempts) == 2
    [shard1] = (runs / "shards" / "shard-1").iterdir()

    out = run_merge_script(merge_script(merge), runs, tokenstorm_bin.parent)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((runs / "merged" / "report.json").read_text())
    assert [(m["index"], m["folder"]) for m in report["merged_from"]] == [(0, str(attempts[-1])), (1, str(shard1))]
    assert report["verdict"] == "pass"
    assert (runs / "merged" / "report.html").is_file()

    # Run again (a re-run merge pod) over the same volume: the old merged folder is replaced, not refused.
    out = run_merge_script(merge_script(merge), runs, tokenstorm_bin.parent)
    assert out.returncode == 0, out.stdout + out.stderr

    # A shard folder without a finished run is named, and nothing is merged.
    (shard1 / "report.json").unlink()
    out = run_merge_script(merge_script(merge), runs, tokenstorm_bin.parent)
    assert out.returncode == 2
    assert f"{runs}/shards/shard-1 holds no run folder with a report.json" in out.stderr

    # A missing index is passed over by the shell and refused by the merge, which names it.
    shutil.rmtree(runs / "shards" / "shard-1")
    out = run_merge_script(merge_script(merge), runs, tokenstorm_bin.parent)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "shard 1" in out.stderr, out.stderr


def test_deploy_merge_job_refuses_an_empty_volume(merge, tmp_path):
    out = run_merge_script(merge_script(merge), tmp_path, tmp_path)
    assert out.returncode == 2
    assert f"no shard folders under {tmp_path}/shards" in out.stderr

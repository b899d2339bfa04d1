"""Fixtures for the packaging tests: one build of the frozen app per test session.

These tests build the bundle with ``packaging/build --reuse`` (a build whose inputs are unchanged is
reused, so a second run costs seconds) and run the result OUTSIDE the venv, in a clean environment.
They run when ``IG_PACKAGING_TESTS=1`` (``.ci/run`` sets it); otherwise they skip, since a fresh build
takes several minutes on 2 cores.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1800


def version() -> str:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


def packaging_enabled() -> bool:
    return os.environ.get("IG_PACKAGING_TESTS") == "1"


def pytest_collection_modifyitems(config, items):
    if packaging_enabled():
        return
    skip = pytest.mark.skip(reason="packaging tests build the frozen app (~6-10 min on 2 cores): "
                                   "run them with IG_PACKAGING_TESTS=1 scripts/test -m packaging")
    here = Path(__file__).resolve().parent
    for item in items:
        if Path(str(item.fspath)).resolve().parent == here:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def built() -> dict:
    """Build (or reuse) the bundle; return the staged folder, the tarball and the .deb paths."""
    proc = subprocess.run([str(REPO / "packaging" / "build"), "--reuse"], cwd=REPO, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S)
    assert proc.returncode == 0, f"packaging/build failed:\n{proc.stderr[-4000:]}"
    stage = Path(proc.stdout.strip().splitlines()[-1])
    v = version()
    info = {
        "stage": stage,
        "version": v,
        "tarball": REPO / "dist" / f"interview-guard-{v}-linux-x86_64.tar.gz",
        "deb": REPO / "dist" / f"interview-guard_{v}_amd64.deb",
        "log": proc.stderr,
    }
    assert (stage / "interview-guard").is_file(), stage
    assert info["tarball"].is_file() and info["deb"].is_file()
    return info


def clean_env(home: Path, display: str | None = None) -> dict[str, str]:
    """What a user's desktop gives the app, and nothing from the venv or the test runner."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    if display:
        env["DISPLAY"] = display
    return env


def run_clean(argv: list[str], env: dict[str, str], *, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    """``env -i`` + argv: the child sees only ``env``."""
    return subprocess.run(["env", "-i", *[f"{k}={v}" for k, v in env.items()], *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)

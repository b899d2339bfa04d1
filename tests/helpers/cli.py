"""Run the real ``interview-guard`` command in a subprocess (as a user would)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    e = dict(os.environ)
    e.pop("DISPLAY", None)
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "interview_guard.cli.main", *args], capture_output=True, text=True,
                          env=e, timeout=timeout, cwd=REPO)


def assert_one_clear_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    """Exit code 2, exactly one ``error:`` line on stderr, no traceback; returns that line."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for n in needles:
        assert n.lower() in errors[0].lower(), (n, errors[0])
    return errors[0]

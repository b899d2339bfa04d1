"""Qt lives only under interview_guard/ui: nothing else imports PySide6 (napari's rule)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "interview_guard"


def _qt_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), filename=str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        if any(n.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "shiboken6") for n in names):
            lines.append(node.lineno)
    return lines


def test_no_qt_import_outside_ui():
    offenders = []
    for py in PKG.rglob("*.py"):
        rel = py.relative_to(PKG)
        if rel.parts[0] == "ui":
            continue
        for ln in _qt_imports(py):
            offenders.append(f"{rel}:{ln}")
    assert offenders == [], f"PySide6 imported outside interview_guard/ui: {offenders}"


def test_importing_the_pipeline_does_not_load_qt():
    code = ("import sys, interview_guard.pipeline.lockstep, interview_guard.pipeline.realtime, "
            "interview_guard.cli.main, interview_guard.detectors.registry as r; r.available(); "
            "print([m for m in sys.modules if m.startswith('PySide6')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Find the shared media corpus. Under CI=true a missing corpus fails; elsewhere it skips."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def require_corpus() -> Path:
    root = corpus_root()
    if not (root / "MANIFEST.tsv").is_file():
        msg = f"media corpus not found at {root} (set IG_CORPUS)"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + "; under CI=true the corpus is required")
        pytest.skip(msg)
    return root


def manifest_rows(root: Path | None = None) -> list[dict]:
    root = root or require_corpus()
    with open(root / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def files_with_label(label: str) -> list[Path]:
    root = require_corpus()
    return [root / r["file"] for r in manifest_rows(root) if r["label"] == label]

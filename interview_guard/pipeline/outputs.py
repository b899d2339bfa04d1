"""Writing analysis results: evidence.jsonl and summary.json, each written atomically.

A file is first written to ``<name>.tmp-<pid>`` in the same folder, flushed and fsynced, then
renamed over the target, so a crash or a full disk never leaves a half-written result.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable

from interview_guard.core.errors import IGError
from interview_guard.core.types import Evidence


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise IGError(f"could not write {path}: {e.strerror or e}", hint="free some disk space or pick another --out folder") from None


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def write_evidence_jsonl(path: Path, evidence: Iterable[Evidence]) -> None:
    lines = "".join(json.dumps(e.to_json(), sort_keys=True) + "\n" for e in evidence)
    atomic_write_bytes(path, lines.encode())


def prepare_out_dir(out: Path) -> Path:
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise IGError(f"cannot create output folder {out}: {e.strerror or e}") from None
    if not os.access(out, os.W_OK):
        raise IGError(f"output folder {out} is not writable", hint="pick another --out folder")
    return out

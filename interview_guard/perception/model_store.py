"""Model files plus their manifest rows; every load checks size and sha256.

The manifest (``models/manifest.json``) lists ``id, file, sha256, bytes, licence, source,
contract`` per model. ``ModelStore.path(id)`` returns a verified path or raises
``ModelError`` naming the file and how to fix it. A user can drop in a model by adding a row.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from interview_guard.core.errors import ModelError

_FIX = "restore it with `git checkout -- models/` or reinstall interview-guard"


def default_models_dir() -> Path:
    """``$IG_MODELS_DIR``, else the frozen bundle's folder, else ``<repo>/models``."""
    env = os.environ.get("IG_MODELS_DIR")
    if env:
        return Path(env)
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "models"
    return Path(__file__).resolve().parents[2] / "models"


@dataclass(frozen=True)
class ModelRow:
    id: str
    file: str
    sha256: str
    bytes: int
    licence: str
    source: str
    contract: str
    extra: dict


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class ModelStore:
    def __init__(self, models_dir: Path | None = None) -> None:
        self.dir = Path(models_dir) if models_dir else default_models_dir()
        manifest = self.dir / "manifest.json"
        if not manifest.is_file():
            raise ModelError(f"model manifest {manifest} is missing", hint=_FIX)
        try:
            data = json.loads(manifest.read_text())
            rows = [
                ModelRow(
                    id=r["id"], file=r["file"], sha256=r["sha256"].lower(), bytes=int(r.get("bytes", -1)),
                    licence=r.get("licence", ""), source=r.get("source", ""), contract=r.get("contract", ""),
                    extra={k: v for k, v in r.items() if k not in
                           {"id", "file", "sha256", "bytes", "licence", "source", "contract"}},
                )
                for r in data["models"]
            ]
        except (ValueError, KeyError, TypeError) as e:
            raise ModelError(f"model manifest {manifest} is not valid JSON with a 'models' list ({e})", hint=_FIX) from e
        self.rows: dict[str, ModelRow] = {r.id: r for r in rows}
        self._verified: set[str] = set()

    def row(self, model_id: str) -> ModelRow:
        try:
            return self.rows[model_id]
        except KeyError:
            raise ModelError(f"no model '{model_id}' in {self.dir / 'manifest.json'}", hint=_FIX) from None

    def check(self, model_id: str) -> Path:
        """Verify one model file; return its path or raise ``ModelError``."""
        row = self.row(model_id)
        path = self.dir / row.file
        if not path.is_file():
            raise ModelError(f"model file {path} ({model_id}) is missing", hint=_FIX)
        size = path.stat().st_size
        if size == 0:
            raise ModelError(f"model file {path} ({model_id}) is empty (0 bytes)", hint=_FIX)
        if row.bytes >= 0 and size != row.bytes:
            raise ModelError(
                f"model file {path} ({model_id}) has {size} bytes, the manifest expects {row.bytes}: "
                "it is truncated or replaced", hint=_FIX)
        digest = sha256_of(path)
        if digest != row.sha256:
            raise ModelError(
                f"model file {path} ({model_id}) failed its sha256 check "
                f"(got {digest[:12]}…, manifest says {row.sha256[:12]}…): it was modified or corrupted",
                hint=_FIX)
        return path

    def path(self, model_id: str) -> Path:
        """Verified path (each model hashed once per store)."""
        if model_id in self._verified:
            return self.dir / self.rows[model_id].file
        p = self.check(model_id)
        self._verified.add(model_id)
        return p

    def verify_all(self) -> list[tuple[str, Path, str | None]]:
        """(id, path, error message or None) for every row."""
        out = []
        for mid, row in self.rows.items():
            try:
                out.append((mid, self.check(mid), None))
            except ModelError as e:
                out.append((mid, self.dir / row.file, str(e)))
        return out

"""The folder of saved segments: atomic writes, crash recovery, retention, export, delete.

Layout of ``root``::

    <id>.mp4            the segment (H.264 + AAC)
    <id>.json           its sidecar: evidence, reasons, app/model versions, sha256 of the mp4
    index.sqlite3       the session index (``index.SegmentIndex``)
    .partial/           work in progress (never listed; emptied on open)

Write protocol (``write_segment``), so that a crash, a SIGKILL or a full disk never leaves a
corrupt segment visible or touches earlier ones:

1. the mp4 is written to ``.partial/<id>.mp4``, flushed and ``fsync``-ed; its sha256 computed;
2. the sidecar (with that sha256) to ``.partial/<id>.json``, fsync-ed;
3. ``rename`` mp4 → ``<id>.mp4``, then sidecar → ``<id>.json`` (atomic on one filesystem),
   ``fsync`` of the folder;
4. one SQLite transaction inserts the index row.

A segment is *visible* (``list()``) only when its row exists and both files are there. Any
failure removes what this write created and raises ``RecordingError`` with one clear sentence
("the disk holding … is full"). ``recover()`` (run on open) deletes ``.partial/``, removes an
mp4 whose sidecar never arrived, and re-indexes complete pairs whose sha256 matches (a kill
between step 3 and 4).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interview_guard import __version__
from interview_guard.core.errors import IGError
from interview_guard.recording.index import IndexError_, SegmentIndex, SegmentRow
from interview_guard.recording.writer import EncodedPacket, write_mp4

PARTIAL = ".partial"
INDEX_NAME = "index.sqlite3"
SIDECAR_SCHEMA = 1


class RecordingError(IGError):
    """A segment could not be saved (full disk, unwritable folder...)."""


def default_recordings_dir() -> Path:
    env = os.environ.get("IG_RECORDINGS_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "interview-guard" / "recordings"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(d: Path) -> None:
    try:
        fd = os.open(str(d), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(p: Path) -> None:
    with open(p, "rb+") as f:
        f.flush()
        os.fsync(f.fileno())


def _is_disk_full(e: BaseException, root: Path) -> bool:
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(e).lower()
    if "no space" in text or "disk is full" in text or "full" in text and "disk" in text:
        return True
    try:
        return shutil.disk_usage(root).free < 256 * 1024
    except OSError:
        return False


@dataclass
class SegmentJob:
    """Everything one segment needs; built by the recorder, written by the store."""

    session: str
    packets: list[EncodedPacket]
    width: int
    height: int
    fps_hint: float
    audio: np.ndarray | None
    audio_rate: int
    audio_start_ms: int
    triggers: list[dict]
    cues: list[dict] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    wall_start_unix: float | None = None     # wall clock at session time 0

    @property
    def t_start_s(self) -> float:
        return self.packets[0].pts_ms / 1000.0 if self.packets else 0.0

    @property
    def t_end_s(self) -> float:
        return self.packets[-1].pts_ms / 1000.0 if self.packets else 0.0


LEVEL_ORDER = {"green": 0, "inconclusive": 1, "amber": 2, "red": 3}


class SegmentStore:
    def __init__(self, root: str | Path | None = None, *, recover: bool = True) -> None:
        self.root = Path(root) if root else default_recordings_dir()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / PARTIAL).mkdir(exist_ok=True)
        except OSError as e:
            raise RecordingError(f"cannot create the recordings folder {self.root}: {e.strerror or e}",
                                 hint="pick another folder in the settings") from None
        try:
            self.index = SegmentIndex(self.root / INDEX_NAME)
        except IndexError_ as e:
            raise RecordingError(str(e)) from None
        self._n = 0
        if recover:
            self.recover()

    # -- listing ------------------------------------------------------------------------------
    def list(self, *, session: str | None = None) -> list[SegmentRow]:
        """Visible segments: indexed and both files present."""
        return [r for r in self.index.rows(session=session)
                if (self.root / r.file).is_file() and (self.root / r.sidecar).is_file()]

    def sidecar(self, row: SegmentRow | str) -> dict:
        r = self.index.get(row) if isinstance(row, str) else row
        if r is None:
            raise RecordingError(f"no segment {row}")
        return json.loads((self.root / r.sidecar).read_text())

    def media_path(self, row: SegmentRow) -> Path:
        return self.root / row.file

    # -- writing ------------------------------------------------------------------------------
    def new_id(self, session: str, t_start_s: float) -> str:
        self._n += 1
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = f"{stamp}-{session[:8]}-{int(t_start_s * 1000):09d}"
        seg_id = base
        k = 1
        while (self.root / f"{seg_id}.mp4").exists() or (self.root / f"{seg_id}.json").exists():
            k += 1
            seg_id = f"{base}-{k}"
        return seg_id

    def write_segment(self, job: SegmentJob) -> SegmentRow:
        if not job.packets:
            raise RecordingError("nothing to save: no video was captured for this segment")
        seg_id = self.new_id(job.session, job.t_start_s)
        part = self.root / PARTIAL
        tmp_mp4, tmp_json = part / f"{seg_id}.mp4", part / f"{seg_id}.json"
        final_mp4, final_json = self.root / f"{seg_id}.mp4", self.root / f"{seg_id}.json"
        created: list[Path] = [tmp_mp4, tmp_json]
        try:
            info = write_mp4(tmp_mp4, job.packets, width=job.width, height=job.height, fps_hint=job.fps_hint,
                             audio=job.audio, audio_rate=job.audio_rate, audio_start_ms=job.audio_start_ms)
            _fsync_file(tmp_mp4)
            digest = sha256_file(tmp_mp4)
            size = tmp_mp4.stat().st_size
            levels = [t.get("level") for t in job.triggers if t.get("level")] + \
                     [c.get("level") for c in job.cues if c.get("level")]
            level = max(levels, key=lambda lv: LEVEL_ORDER.get(lv, 0)) if levels else "green"
            reasons: list[str] = []
            for t in job.triggers:
                if t.get("reason") and t["reason"] not in reasons:
                    reasons.append(t["reason"])
            for c in job.cues:
                for r in c.get("reasons", []):
                    if r not in reasons:
                        reasons.append(r)
            wall0 = job.wall_start_unix
            wall_start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(
                (wall0 if wall0 is not None else time.time() - 0) + (job.t_start_s if wall0 is not None else 0)))
            sidecar = {
                "schema": SIDECAR_SCHEMA, "id": seg_id, "session": job.session, "file": final_mp4.name,
                "sha256": digest, "bytes": size, "t_start_s": round(job.t_start_s, 3),
                "t_end_s": round(job.t_end_s, 3), "wall_start": wall_start,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "triggers": job.triggers, "level": level,
                "reasons": reasons[:8], "cues": job.cues, "evidence": job.evidence,
                "app_version": __version__, **info, **job.meta,
            }
            with open(tmp_json, "wb") as f:
                f.write((json.dumps(sidecar, indent=1, sort_keys=True) + "\n").encode())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp_mp4, final_mp4)
            created.append(final_mp4)
            os.replace(tmp_json, final_json)
            created.append(final_json)
            _fsync_dir(self.root)
            row = SegmentRow(seg_id, job.session, final_mp4.name, final_json.name, time.time(), wall_start,
                             round(job.t_start_s, 3), round(job.t_end_s, 3),
                             ",".join(sorted({t.get("kind", "") for t in job.triggers})) or "flag", level,
                             tuple(reasons[:8]), digest, size)
            self.index.add(row)
            return row
        except BaseException as e:
            for p in created:
                try:
                    p.unlink()
                except OSError:
                    pass
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            if _is_disk_full(e, self.root):
                raise RecordingError(f"the flagged segment could not be saved: the disk holding {self.root} is full. "
                                     "Earlier segments are safe.", hint="free some disk space or lower the "
                                     "retention in the settings") from None
            raise RecordingError(f"the flagged segment could not be saved ({type(e).__name__}: "
                                 f"{str(e).splitlines()[0][:160] if str(e) else ''}). Earlier segments are safe.") from None

    # -- maintenance --------------------------------------------------------------------------
    def recover(self) -> dict:
        """Clean up after a crash (see module doc). Returns what it did."""
        out = {"partial_removed": 0, "orphans_removed": 0, "reindexed": 0, "rows_dropped": 0}
        for p in (self.root / PARTIAL).iterdir() if (self.root / PARTIAL).is_dir() else []:
            try:
                p.unlink()
                out["partial_removed"] += 1
            except OSError:
                pass
        try:
            indexed = {r.id: r for r in self.index.rows()}
        except IndexError_:
            indexed = {}
        mp4s = {p.stem for p in self.root.glob("*.mp4")}
        jsons = {p.stem for p in self.root.glob("*.json")}
        for stem in mp4s - jsons:          # killed between the two renames: complete media, no sidecar
            if stem not in indexed:
                (self.root / f"{stem}.mp4").unlink(missing_ok=True)
                out["orphans_removed"] += 1
        for stem in jsons - mp4s:
            if stem not in indexed:
                (self.root / f"{stem}.json").unlink(missing_ok=True)
                out["orphans_removed"] += 1
        for stem in sorted(mp4s & jsons):
            if stem in indexed:
                continue
            try:
                meta = json.loads((self.root / f"{stem}.json").read_text())
                ok = meta.get("sha256") == sha256_file(self.root / f"{stem}.mp4")
            except (OSError, ValueError):
                ok = False
            if not ok:
                (self.root / f"{stem}.mp4").unlink(missing_ok=True)
                (self.root / f"{stem}.json").unlink(missing_ok=True)
                out["orphans_removed"] += 1
                continue
            trig = ",".join(sorted({t.get("kind", "") for t in meta.get("triggers", [])})) or "flag"
            try:
                self.index.add(SegmentRow(stem, meta.get("session", ""), f"{stem}.mp4", f"{stem}.json",
                                          (self.root / f"{stem}.json").stat().st_mtime, meta.get("wall_start", ""),
                                          float(meta.get("t_start_s", 0)), float(meta.get("t_end_s", 0)), trig,
                                          meta.get("level", "green"), tuple(meta.get("reasons", [])),
                                          meta["sha256"], int(meta.get("bytes", 0))))
                out["reindexed"] += 1
            except IndexError_:
                pass
        for seg_id, r in indexed.items():
            if not (self.root / r.file).is_file() or not (self.root / r.sidecar).is_file():
                try:
                    self.index.remove(seg_id)
                    out["rows_dropped"] += 1
                except IndexError_:
                    pass
        return out

    def delete(self, seg_id: str) -> None:
        r = self.index.get(seg_id)
        if r is None:
            return
        self.index.remove(seg_id)          # invisible first, then the files
        for name in (r.file, r.sidecar):
            try:
                (self.root / name).unlink()
            except FileNotFoundError:
                pass
            except OSError as e:
                raise RecordingError(f"could not delete {self.root / name}: {e.strerror or e}") from None

    def purge_older_than(self, days: float, *, now: float | None = None) -> list[str]:
        """Retention: delete segments saved more than ``days`` ago (0 or less: keep all)."""
        if days is None or days <= 0:
            return []
        cutoff = (now if now is not None else time.time()) - days * 86400.0
        gone = []
        for r in self.index.older_than(cutoff):
            self.delete(r.id)
            gone.append(r.id)
        return gone

    def export(self, seg_id: str, dest_dir: str | Path) -> list[Path]:
        """Copy a segment's mp4 + sidecar into ``dest_dir`` (checked against the sha256)."""
        r = self.index.get(seg_id)
        if r is None:
            raise RecordingError(f"no segment {seg_id} to export")
        dest = Path(dest_dir)
        try:
            dest.mkdir(parents=True, exist_ok=True)
            out = []
            for name in (r.file, r.sidecar):
                tmp = dest / f".{name}.tmp-{os.getpid()}"
                shutil.copyfile(self.root / name, tmp)
                os.replace(tmp, dest / name)
                out.append(dest / name)
        except OSError as e:
            raise RecordingError(f"could not export the segment to {dest}: {e.strerror or e}") from None
        if sha256_file(out[0]) != r.sha256:
            raise RecordingError(f"the exported copy of {r.file} does not match its sha256")
        return out

    def verify(self, row: SegmentRow) -> bool:
        try:
            return sha256_file(self.root / row.file) == row.sha256
        except OSError:
            return False

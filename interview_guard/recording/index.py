"""The session index of saved segments: one SQLite file next to the segments.

A row is inserted only after the segment's mp4 and JSON sidecar are complete and renamed into
place, inside one transaction, so the index never lists a segment that is not fully on disk.
Each call opens its own short connection (the recorder's writer thread inserts; the UI thread
lists and deletes), with ``synchronous=FULL`` and WAL journaling: a killed process loses at most
the transaction in flight, never earlier rows.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from interview_guard.core.errors import IGError

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (
    id          TEXT PRIMARY KEY,
    session     TEXT NOT NULL,
    file        TEXT NOT NULL,
    sidecar     TEXT NOT NULL,
    created     REAL NOT NULL,      -- unix time the segment was saved
    wall_start  TEXT NOT NULL,      -- local wall-clock time of its first frame (ISO 8601)
    t_start_s   REAL NOT NULL,      -- session time of its first frame
    t_end_s     REAL NOT NULL,
    trigger     TEXT NOT NULL,      -- flag | amber | red | challenge (comma-separated when merged)
    level       TEXT NOT NULL,      -- worst level inside the segment
    reasons     TEXT NOT NULL,      -- JSON list of plain-language reasons
    sha256      TEXT NOT NULL,
    bytes       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_created ON segments(created);
"""


@dataclass(frozen=True)
class SegmentRow:
    id: str
    session: str
    file: str
    sidecar: str
    created: float
    wall_start: str
    t_start_s: float
    t_end_s: float
    trigger: str
    level: str
    reasons: tuple[str, ...]
    sha256: str
    bytes: int

    @property
    def duration_s(self) -> float:
        return max(0.0, self.t_end_s - self.t_start_s)

    def to_json(self) -> dict:
        return {"id": self.id, "session": self.session, "file": self.file, "sidecar": self.sidecar,
                "created": self.created, "wall_start": self.wall_start, "t_start_s": self.t_start_s,
                "t_end_s": self.t_end_s, "duration_s": round(self.duration_s, 3), "trigger": self.trigger,
                "level": self.level, "reasons": list(self.reasons), "sha256": self.sha256, "bytes": self.bytes}


class IndexError_(IGError):
    pass


class SegmentIndex:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        with self._conn() as c:
            c.executescript(SCHEMA)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(str(self.path), timeout=10.0, isolation_level=None)
        except sqlite3.Error as e:
            raise IndexError_(f"cannot open the recordings index {self.path}: {e}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            yield conn
        except sqlite3.OperationalError as e:
            msg = str(e)
            if "full" in msg.lower():
                raise IndexError_(f"the disk holding {self.path.parent} is full: the recordings index "
                                  "could not be updated", hint="free some disk space") from None
            raise IndexError_(f"recordings index {self.path}: {msg}") from None
        finally:
            conn.close()

    def add(self, row: SegmentRow) -> None:
        with self._conn() as c:
            c.execute("BEGIN IMMEDIATE")
            try:
                c.execute("INSERT OR REPLACE INTO segments VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          (row.id, row.session, row.file, row.sidecar, row.created, row.wall_start, row.t_start_s,
                           row.t_end_s, row.trigger, row.level, json.dumps(list(row.reasons)), row.sha256, row.bytes))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def remove(self, seg_id: str) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM segments WHERE id = ?", (seg_id,))

    def rows(self, *, session: str | None = None) -> list[SegmentRow]:
        with self._conn() as c:
            if session is None:
                cur = c.execute("SELECT * FROM segments ORDER BY created, id")
            else:
                cur = c.execute("SELECT * FROM segments WHERE session = ? ORDER BY created, id", (session,))
            return [_row(r) for r in cur.fetchall()]

    def get(self, seg_id: str) -> SegmentRow | None:
        with self._conn() as c:
            r = c.execute("SELECT * FROM segments WHERE id = ?", (seg_id,)).fetchone()
            return _row(r) if r else None

    def older_than(self, cutoff_unix: float) -> list[SegmentRow]:
        with self._conn() as c:
            return [_row(r) for r in c.execute("SELECT * FROM segments WHERE created < ? ORDER BY created",
                                               (cutoff_unix,)).fetchall()]


def _row(r) -> SegmentRow:
    try:
        reasons = tuple(json.loads(r[10]))
    except ValueError:
        reasons = ()
    return SegmentRow(r[0], r[1], r[2], r[3], float(r[4]), r[5], float(r[6]), float(r[7]), r[8], r[9], reasons,
                      r[11], int(r[12]))


def now_unix() -> float:
    return time.time()

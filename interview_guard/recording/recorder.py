"""Flagged-segment recorder: pre-roll ring buffer, triggers, post-roll, background writing.

``SegmentRecorder`` runs two threads of its own so that it never slows the analysis:

* the **encoder** thread takes frames from a small drop-oldest queue (the capture thread's
  ``push_video`` never blocks), limits them to ``max_fps``, scales them to at most
  ``max_width`` and encodes them into a ring of H.264 packets that always reaches back at least
  ``preroll_s`` (default 15 s) to a keyframe; PCM audio (``push_audio``) is kept alongside;
* the **writer** thread saves finished segments through ``SegmentStore.write_segment``
  (atomic; see ``store``).

Triggers (``trigger(kind, t_ns, reason)``): the level turns amber or red, a challenge runs, or
the interviewer presses Flag. A segment spans ``[t − preroll, t + postroll]``; a trigger while
one is open extends it (up to ``max_segment_s``), so overlapping triggers give ONE segment.
Time comes from the frames (``t_ns``), never from a clock. ``stop()`` saves an open segment
with what was captured so far.

State for the UI (read from any thread): ``recording`` (a segment is open or being written),
``segments`` (rows written this session), ``last_error`` (a sentence, e.g. disk full).
"""

from __future__ import annotations

import collections
import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np

from interview_guard.core.buffers import DropOldestQueue
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence, VideoFrame
from interview_guard.recording.index import SegmentRow
from interview_guard.recording.store import RecordingError, SegmentJob, SegmentStore
from interview_guard.recording.writer import EncodedPacket, H264Encoder

TRIGGER_KINDS = ("flag", "amber", "red", "challenge")


@dataclass(frozen=True)
class RecorderConfig:
    preroll_s: float = 15.0
    postroll_s: float = 10.0
    max_segment_s: float = 120.0
    max_width: int = 960
    max_fps: float = 15.0
    crf: int = 26
    audio_rate: int = 16000
    evidence_keep_s: float = 300.0
    ring_extra_s: float = 10.0        # the ring reaches this much further back, so a challenge that
                                      # started before the pre-roll is saved whole


@dataclass
class _Open:
    start_ms: int
    end_ms: int
    triggers: list[dict] = field(default_factory=list)


class SegmentRecorder:
    def __init__(self, store: SegmentStore, config: RecorderConfig | None = None, *, session: str | None = None,
                 meta: dict[str, Any] | None = None, wall_start_unix: float | None = None) -> None:
        self.store = store
        self.config = config or RecorderConfig()
        self.session = session or uuid.uuid4().hex[:12]
        self.meta = dict(meta or {})
        self.wall_start_unix = wall_start_unix if wall_start_unix is not None else time.time()
        self._video: DropOldestQueue[VideoFrame] = DropOldestQueue(4)
        self._ctl: queue.SimpleQueue = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_push_t: int | None = None
        self.segments: list[SegmentRow] = []
        self.errors: list[str] = []
        self.last_error: str | None = None
        self._open: _Open | None = None
        self._writing = 0
        self._queued = 0
        self.on_segment: list[Callable[[SegmentRow], None]] = []
        self.on_error: list[Callable[[str], None]] = []
        self._enc_thread = threading.Thread(target=self._encode_loop, name="ig-rec-encode", daemon=True)
        self._write_thread = threading.Thread(target=self._write_loop, name="ig-rec-write", daemon=True)
        # encoder-thread state
        self._enc: H264Encoder | None = None
        self._ring: collections.deque[EncodedPacket] = collections.deque()
        self._audio: collections.deque[AudioChunk] = collections.deque()
        self._evidence: collections.deque[dict] = collections.deque()
        self._cues: collections.deque[dict] = collections.deque()
        self._latest_ms = 0
        self.frames_encoded = 0

    # -- control (any thread) -------------------------------------------------------------------
    def start(self) -> "SegmentRecorder":
        self._enc_thread.start()
        self._write_thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop; an open segment is saved with what was captured. Waits for the writer."""
        if self._stop.is_set():
            return
        self._ctl.put(("stop", None))
        self._video.close()
        self._enc_thread.join(timeout)
        self._jobs.put(None)
        self._write_thread.join(timeout)
        self._stop.set()

    @property
    def recording(self) -> bool:
        """A segment is open (collecting post-roll) or being written."""
        with self._lock:
            return self._open is not None or self._writing > 0 or self._queued > 0

    @property
    def alive(self) -> bool:
        return self._enc_thread.is_alive()

    def push_video(self, frame: VideoFrame) -> None:
        """Never blocks; frames closer than 1/max_fps to the previous accepted one are skipped."""
        t = frame.t_ns
        min_dt = int(NS_PER_S / self.config.max_fps) if self.config.max_fps > 0 else 0
        last = self._last_push_t
        if last is not None and 0 <= t - last < min_dt * 0.9:
            return
        self._last_push_t = t
        self._video.put(frame)

    def push_audio(self, chunk: AudioChunk) -> None:
        self._ctl.put(("audio", chunk))

    def push_evidence(self, evidence: Iterable[Evidence]) -> None:
        ev = [e.to_json() for e in evidence]
        if ev:
            self._ctl.put(("evidence", ev))

    def push_cues(self, cues: Iterable[Any]) -> None:
        cs = [c.to_json() for c in cues]
        if cs:
            self._ctl.put(("cues", cs))

    def trigger(self, kind: str, t_ns: int | None = None, reason: str = "", *, level: str | None = None,
                start_ns: int | None = None) -> None:
        """Open (or extend) a segment around ``t_ns`` (None: the newest frame)."""
        if kind not in TRIGGER_KINDS:
            raise ValueError(f"unknown trigger {kind!r}")
        with self._lock:
            self._queued += 1            # 'recording' turns on at once; the encoder thread settles it
        self._ctl.put(("trigger", {"kind": kind, "t_ns": t_ns, "reason": reason, "level": level,
                                   "start_ns": start_ns}))

    # -- encoder thread ---------------------------------------------------------------------------
    def _encode_loop(self) -> None:
        try:
            while True:
                stop = self._drain_ctl()
                if stop:
                    break
                frame = self._video.get(timeout=0.05)
                if frame is not None:
                    self._encode(frame)
                    self._check_open()
                elif self._video.closed and len(self._video) == 0 and self._ctl.empty():
                    time.sleep(0.01)
            while (frame := self._video.get(timeout=0)) is not None:
                self._encode(frame)
            self._finalise(force=True)
        except Exception as e:  # noqa: BLE001 - the recorder must never take the app down
            self._error(f"the recorder stopped on an unexpected error: {e}")
        finally:
            if self._enc is not None:
                self._enc.close()

    def _drain_ctl(self) -> bool:
        stop = False
        while True:
            try:
                kind, payload = self._ctl.get_nowait()
            except queue.Empty:
                return stop
            if kind == "stop":
                stop = True
            elif kind == "audio":
                self._audio.append(payload)
            elif kind == "evidence":
                self._evidence.extend(payload)
            elif kind == "cues":
                self._cues.extend(payload)
            elif kind == "trigger":
                self._on_trigger(payload)
        return stop

    def _encode(self, frame: VideoFrame) -> None:
        c = self.config
        img = frame.image
        h, w = img.shape[:2]
        if self._enc is None:
            scale = min(1.0, c.max_width / float(w)) if c.max_width else 1.0
            ew, eh = max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)
            self._enc = H264Encoder(ew, eh, fps_hint=c.max_fps or 15.0, crf=c.crf)
        pts = int(frame.t_ns // 1_000_000)
        for p in self._enc.encode(img, pts):
            self._ring.append(p)
            self.frames_encoded += 1
        self._latest_ms = max(self._latest_ms, pts)
        self._trim()

    def _trim(self) -> None:
        c = self.config
        keep_from = self._latest_ms - int((c.preroll_s + c.ring_extra_s) * 1000)
        if self._open is not None:
            keep_from = min(keep_from, self._open.start_ms)
        # drop whole GOPs that end before keep_from: keep the last keyframe at or before it
        ring = self._ring
        last_key_idx = None
        for i, p in enumerate(ring):
            if p.pts_ms > keep_from:
                break
            if p.key:
                last_key_idx = i
        if last_key_idx:
            for _ in range(last_key_idx):
                ring.popleft()
        a_keep = (ring[0].pts_ms if ring else self._latest_ms) - 1000
        while self._audio and self._audio[0].t_ns // 1_000_000 + self._audio[0].duration_ns // 1_000_000 < a_keep:
            self._audio.popleft()
        e_keep = self._latest_ms - int(c.evidence_keep_s * 1000)
        while self._evidence and self._evidence[0].get("t_end_s", 0) * 1000 < e_keep:
            self._evidence.popleft()
        while self._cues and self._cues[0].get("t_s", 0) * 1000 < e_keep:
            self._cues.popleft()

    def _on_trigger(self, t: dict) -> None:
        c = self.config
        t_ms = self._latest_ms if t["t_ns"] is None else int(t["t_ns"] // 1_000_000)
        start = t_ms - int(c.preroll_s * 1000)
        if t.get("start_ns") is not None:
            start = min(start, int(t["start_ns"] // 1_000_000) - 2000)
        end = t_ms + int(c.postroll_s * 1000)
        rec = {"kind": t["kind"], "t_s": round(t_ms / 1000.0, 3), "reason": t.get("reason", "")}
        if t.get("level"):
            rec["level"] = t["level"]
        with self._lock:
            self._queued = max(0, self._queued - 1)
            if self._open is None:
                self._open = _Open(start, end, [rec])
            else:
                o = self._open
                o.end_ms = min(max(o.end_ms, end), o.start_ms + int(c.max_segment_s * 1000))
                o.triggers.append(rec)
        self._check_open()

    def _check_open(self) -> None:
        o = self._open
        if o is not None and self._latest_ms >= o.end_ms:
            self._finalise()

    def _finalise(self, force: bool = False) -> None:
        o = self._open
        if o is None:
            return
        packets = list(self._ring)
        # from the last keyframe at or before the start; to the end
        start_idx = 0
        for i, p in enumerate(packets):
            if p.pts_ms > o.start_ms:
                break
            if p.key:
                start_idx = i
        sel = [p for p in packets[start_idx:] if p.pts_ms <= o.end_ms]
        while sel and not sel[0].key:
            sel.pop(0)
        with self._lock:
            self._open = None
            if sel:
                self._writing += 1
        if not sel:
            self._error("a flagged moment could not be saved: no video had been captured yet")
            return
        t0, t1 = sel[0].pts_ms, sel[-1].pts_ms
        chunks = [a for a in self._audio if a.t_ns // 1_000_000 + a.duration_ns // 1_000_000 >= t0
                  and a.t_ns // 1_000_000 <= t1 + 1000]
        audio, a_start = None, t0
        if chunks:
            rate = self.config.audio_rate
            parts = [_resample(a.samples, a.sample_rate, rate) for a in chunks]
            audio = np.concatenate(parts).astype(np.float32)
            a_start = int(chunks[0].t_ns // 1_000_000)
        ev = [e for e in self._evidence if e.get("t_end_s", 0) * 1000 >= t0 - 1000 and e.get("t_start_s", 0) * 1000 <= t1]
        cues = [c for c in self._cues if t0 - 1000 <= c.get("t_s", 0) * 1000 <= t1 + 1000]
        enc = self._enc
        assert enc is not None
        job = SegmentJob(session=self.session, packets=sel, width=enc.width, height=enc.height,
                         fps_hint=self.config.max_fps or 15.0, audio=audio, audio_rate=self.config.audio_rate,
                         audio_start_ms=a_start, triggers=list(o.triggers), cues=cues, evidence=ev,
                         meta=dict(self.meta), wall_start_unix=self.wall_start_unix)
        self._jobs.put(job)

    # -- writer thread ------------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                row = self.store.write_segment(job)
            except RecordingError as e:
                self._error(str(e))
            except Exception as e:  # noqa: BLE001
                self._error(f"the flagged segment could not be saved: {e}")
            else:
                self.segments.append(row)
                for cb in list(self.on_segment):
                    try:
                        cb(row)
                    except Exception:  # noqa: BLE001
                        pass
            finally:
                with self._lock:
                    self._writing = max(0, self._writing - 1)

    def _error(self, msg: str) -> None:
        self.last_error = msg
        self.errors.append(msg)
        for cb in list(self.on_error):
            try:
                cb(msg)
            except Exception:  # noqa: BLE001
                pass


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    if src == dst or len(x) == 0:
        return np.asarray(x, np.float32)
    n = int(round(len(x) * dst / src))
    return np.interp(np.linspace(0, len(x) - 1, n), np.arange(len(x)), x).astype(np.float32)

"""Lockstep schedule: analyse a recording frame by frame, never dropping, deterministic.

``analyze_file`` is what ``interview-guard analyze`` and the GUI's offline view run. Progress is
reported through a callback; a ``threading.Event`` cancels between frames.

Audio: when the analyzer has audio or audio-visual detectors and the recording has an audio
track, that track (16 kHz mono, 0.1-s chunks, ``RecordingAudioSource``) goes to
``Analyzer.on_audio`` interleaved by time with the frames: before a frame at ``t`` every chunk
ending at or before ``t`` is fed, the rest after the last frame. Audio evidence is merged into
the next frame's ``StepResult`` (so ``on_step`` sees it) and into the result. A recording without
audio (or an analyzer without audio detectors) runs exactly as before.

Two cores, same results: the video is decoded a few frames ahead on a reader thread, and the
audio-only detectors (not the audio-visual ones) run ahead on an audio thread; their results are
merged on the main thread in the same order as a one-thread run, so the output is identical.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from interview_guard import __version__
from interview_guard.capture.recording import RecordingAudioSource, RecordingVideoSource
from interview_guard.core.errors import InputError
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence, SourceEvent, SourceEventKind, VideoFrame
from interview_guard.detectors.contract import Window
from interview_guard.pipeline.analyzer import Analyzer, RunStats, StepResult
from interview_guard.pipeline.outputs import atomic_write_json, prepare_out_dir, write_evidence_jsonl

ProgressFn = Callable[[float, float], None]  # (seconds analysed, total seconds or 0 if unknown)


@dataclass
class LockstepResult:
    summary: dict
    evidence: list[Evidence]
    error: str | None
    cancelled: bool
    cues: list = field(default_factory=list)        # fusion.Cue, one per level change
    risk: list = field(default_factory=list)        # fusion.RiskPoint, one per 2-s hop


def run_lockstep(source: RecordingVideoSource, analyzer: Analyzer, *, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None,
                 on_step: Callable[[StepResult], None] | None = None) -> LockstepResult:
    stats = RunStats()
    evidence: list[Evidence] = []
    cues: list = []
    error: str | None = None
    cancelled = False
    total = source.duration_s or 0.0
    t_wall = time.perf_counter()
    end_event: SourceEvent | None = None
    audio = _AudioFeed.open(source, analyzer)
    for item in _read_ahead(source):
        if isinstance(item, SourceEvent):
            end_event = item
            break
        assert isinstance(item, VideoFrame)
        audio_ev = audio.feed_until(item.t_ns) if audio else ()
        r = analyzer.on_frame(item)
        if audio_ev:
            r = dataclasses.replace(r, evidence=tuple(audio_ev) + r.evidence)
        stats.add(r)
        evidence.extend(r.evidence)
        cues.extend(r.cues)
        if on_step:
            on_step(r)
        if progress:
            progress(item.t_ns / NS_PER_S, total)
        if cancel is not None and cancel.is_set():
            cancelled = True
            source.stop()
    if audio:
        if not cancelled:
            evidence.extend(audio.feed_until(None))
        audio.close()
    wall = time.perf_counter() - t_wall
    if end_event is not None and end_event.kind is SourceEventKind.ERROR:
        error = end_event.message
    duration = 0.0
    if stats.first_t_ns is not None:
        frame_dt = 1.0 / source.fps_hint if source.fps_hint else 0.0
        duration = (stats.last_t_ns - stats.first_t_ns) / NS_PER_S + frame_dt
    if source.duration_s and not cancelled and error is None:
        duration = max(duration, float(source.duration_s))
    fusion = getattr(analyzer, "fusion", None)
    if fusion is not None:   # read the evidence still pending, up to the end of what was analysed
        cues.extend(analyzer.finish_fusion((stats.first_t_ns or 0) + int(round(duration * NS_PER_S))))
    summary = {
        "app_version": __version__,
        "source": str(source.path.name),
        "duration_s": round(duration, 3),
        "fps": round(source.fps_hint, 3),
        "width": source.width,
        "height": source.height,
        "frames_decoded": source.decoded,
        "wall_s": round(wall, 3),
        "realtime_factor": round(duration / wall, 3) if wall > 0 else None,
        "complete": error is None and not cancelled,
        "cancelled": cancelled,
        "error": error,
        "detectors": [{"id": d.id, "version": d.version} for d in analyzer.detectors],
        "quality_events": _count_codes(evidence, "quality"),
        "risk_events": _count_codes(evidence, "risk"),
        "max_level": fusion.max_level.value if fusion is not None else
        ("inconclusive" if stats.frames_with_face == 0 else "green"),
        "cues": [c.to_json() for c in cues],
    }
    if fusion is not None:
        summary["fusion"] = fusion.summary()
    summary.update(stats.summary())
    return LockstepResult(summary=summary, evidence=evidence, error=error, cancelled=cancelled, cues=cues,
                          risk=list(fusion.points) if fusion is not None else [])


_END = object()


def _read_ahead(source, depth: int = 4):
    """``source``'s items, decoded up to ``depth`` ahead on a reader thread (PyAV releases the GIL
    while decoding). Stopping the source ends the reader; nothing is dropped."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = threading.Event()

    def reader():
        try:
            for item in source:
                while not done.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if done.is_set():
                    return
        except BaseException as e:  # noqa: BLE001 - re-raised on the main thread
            q.put(("__error__", e))
            return
        q.put(_END)

    th = threading.Thread(target=reader, name="ig-read-ahead", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, tuple) and len(item) == 2 and item[0] == "__error__":
                raise item[1]
            yield item
    finally:
        done.set()
        th.join(5.0)


class _AudioFeed:
    """The recording's audio track, handed to ``analyzer.on_audio`` chunk by chunk up to a time.

    The audio-only detectors run ahead on an audio thread (``ig-audio-ahead``, at most
    ``AHEAD_CHUNKS`` chunks ahead); the audio-visual ones and the fusion stay on the caller's
    thread, in chunk order, so the evidence and cues are the same as a one-thread run."""

    AHEAD_CHUNKS = 300        # 30 s of 0.1-s chunks

    def __init__(self, src: RecordingAudioSource, analyzer: Analyzer) -> None:
        self.src = src
        self.analyzer = analyzer
        self._ahead = list(analyzer.audio_only_detectors) if hasattr(analyzer, "audio_only_detectors") else []
        self._q: queue.Queue = queue.Queue(maxsize=self.AHEAD_CHUNKS)
        self._stop = threading.Event()
        self._next: tuple[AudioChunk, dict] | None = None
        self._done = False
        self._thread = threading.Thread(target=self._run, name="ig-audio-ahead", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for item in self.src:
                if self._stop.is_set() or isinstance(item, SourceEvent):
                    break      # a damaged audio track ends the audio; the video goes on
                win = Window(t_ns=item.t_ns + item.duration_ns, audio=item)
                pre = {d.id: d.process(win) for d in self._ahead}
                while not self._stop.is_set():
                    try:
                        self._q.put((item, pre), timeout=0.1)
                        break
                    except queue.Full:
                        continue
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
            self._q.put(("__error__", e))
            return
        self._q.put(_END)

    @classmethod
    def open(cls, video: RecordingVideoSource, analyzer: Analyzer) -> "_AudioFeed | None":
        if not getattr(analyzer, "audio_detectors", None):
            return None
        try:
            src = RecordingAudioSource(video.path, sample_rate=16000, chunk_s=0.1)
        except InputError:
            return None  # no audio track: video only, as before
        return cls(src, analyzer)

    def _peek(self) -> tuple[AudioChunk, dict] | None:
        if self._next is None and not self._done:
            item = self._q.get()
            if item is _END:
                self._done = True
            elif isinstance(item, tuple) and len(item) == 2 and item[0] == "__error__":
                self._done = True
                raise item[1]
            else:
                self._next = item
        return self._next

    def feed_until(self, t_ns: int | None) -> list[Evidence]:
        """Feed every chunk that ends at or before ``t_ns`` (all remaining ones if None)."""
        out: list[Evidence] = []
        while (nxt := self._peek()) is not None:
            c, pre = nxt
            if t_ns is not None and c.t_ns + c.duration_ns > t_ns:
                break
            self._next = None
            out.extend(self.analyzer.on_audio(c, precomputed=pre) if pre else self.analyzer.on_audio(c))
        return out

    def close(self) -> None:
        self._stop.set()
        self.src.stop()
        while self._thread.is_alive():          # unblock a reader waiting on a full queue
            try:
                self._q.get(timeout=0.1)
            except queue.Empty:
                pass
        self._thread.join(5.0)
        self.src.close()


def _count_codes(evidence: list[Evidence], kind: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in evidence:
        if e.kind == kind:
            key = e.code or e.detector
            out[key] = out.get(key, 0) + 1
    return out


def analyze_file(path: str | Path, out_dir: str | Path, *, sample_fps: float = 0.0, max_width: int = 0,
                 analyzer: Analyzer | None = None, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None,
                 on_step: Callable[[StepResult], None] | None = None) -> LockstepResult:
    """Analyse ``path`` and write ``evidence.jsonl`` + ``summary.json`` (+ ``risk.json``, the
    fused risk per 2-s hop, when the analyzer fuses) into ``out_dir``.

    Raises ``InputError`` before writing anything when the file cannot be opened.
    """
    source = RecordingVideoSource(path, sample_fps=sample_fps, max_width=max_width)
    own = analyzer is None
    analyzer = analyzer or Analyzer()
    try:
        out = prepare_out_dir(Path(out_dir))
        result = run_lockstep(source, analyzer, progress=progress, cancel=cancel, on_step=on_step)
    finally:
        source.close()
        if own:
            analyzer.close()
    write_evidence_jsonl(out / "evidence.jsonl", result.evidence)
    if result.risk:
        atomic_write_json(out / "risk.json", [p.to_json() for p in result.risk])
    atomic_write_json(out / "summary.json", result.summary)
    return result

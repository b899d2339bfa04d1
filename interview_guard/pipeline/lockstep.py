"""Lockstep schedule: analyse a recording frame by frame, never dropping, deterministic.

``analyze_file`` is what ``interview-guard analyze`` and the GUI's offline view run. Progress is
reported through a callback; a ``threading.Event`` cancels between frames.

Audio: when the analyzer has audio or audio-visual detectors and the recording has an audio
track, that track (16 kHz mono, 0.1-s chunks, ``RecordingAudioSource``) goes to
``Analyzer.on_audio`` interleaved by time with the frames: before a frame at ``t`` every chunk
ending at or before ``t`` is fed, the rest after the last frame. Audio evidence is merged into
the next frame's ``StepResult`` (so ``on_step`` sees it) and into the result. A recording without
audio (or an analyzer without audio detectors) runs exactly as before.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from interview_guard import __version__
from interview_guard.capture.recording import RecordingAudioSource, RecordingVideoSource
from interview_guard.core.errors import InputError
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence, SourceEvent, SourceEventKind, VideoFrame
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
    for item in source:
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


class _AudioFeed:
    """The recording's audio track, handed to ``analyzer.on_audio`` chunk by chunk up to a time."""

    def __init__(self, src: RecordingAudioSource, analyzer: Analyzer) -> None:
        self.src = src
        self.analyzer = analyzer
        self._it = iter(src)
        self._next: AudioChunk | None = None
        self._done = False

    @classmethod
    def open(cls, video: RecordingVideoSource, analyzer: Analyzer) -> "_AudioFeed | None":
        if not getattr(analyzer, "audio_detectors", None):
            return None
        try:
            src = RecordingAudioSource(video.path, sample_rate=16000, chunk_s=0.1)
        except InputError:
            return None  # no audio track: video only, as before
        return cls(src, analyzer)

    def _peek(self) -> AudioChunk | None:
        while self._next is None and not self._done:
            item = next(self._it, None)
            if item is None or isinstance(item, SourceEvent):
                self._done = True  # a damaged audio track ends the audio; the video goes on
            else:
                self._next = item
        return self._next

    def feed_until(self, t_ns: int | None) -> list[Evidence]:
        """Feed every chunk that ends at or before ``t_ns`` (all remaining ones if None)."""
        out: list[Evidence] = []
        while (c := self._peek()) is not None:
            if t_ns is not None and c.t_ns + c.duration_ns > t_ns:
                break
            self._next = None
            out.extend(self.analyzer.on_audio(c))
        return out

    def close(self) -> None:
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

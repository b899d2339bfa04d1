"""Lockstep schedule: analyse a recording frame by frame, never dropping, deterministic.

``analyze_file`` is what ``interview-guard analyze`` and the GUI's offline view run. Progress is
reported through a callback; a ``threading.Event`` cancels between frames.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from interview_guard import __version__
from interview_guard.capture.recording import RecordingVideoSource
from interview_guard.core.types import NS_PER_S, Evidence, SourceEvent, SourceEventKind, VideoFrame
from interview_guard.pipeline.analyzer import Analyzer, RunStats, StepResult
from interview_guard.pipeline.outputs import atomic_write_json, prepare_out_dir, write_evidence_jsonl

ProgressFn = Callable[[float, float], None]  # (seconds analysed, total seconds or 0 if unknown)


@dataclass
class LockstepResult:
    summary: dict
    evidence: list[Evidence]
    error: str | None
    cancelled: bool


def run_lockstep(source: RecordingVideoSource, analyzer: Analyzer, *, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None,
                 on_step: Callable[[StepResult], None] | None = None) -> LockstepResult:
    stats = RunStats()
    evidence: list[Evidence] = []
    error: str | None = None
    cancelled = False
    total = source.duration_s or 0.0
    t_wall = time.perf_counter()
    end_event: SourceEvent | None = None
    for item in source:
        if isinstance(item, SourceEvent):
            end_event = item
            break
        assert isinstance(item, VideoFrame)
        r = analyzer.on_frame(item)
        stats.add(r)
        evidence.extend(r.evidence)
        if on_step:
            on_step(r)
        if progress:
            progress(item.t_ns / NS_PER_S, total)
        if cancel is not None and cancel.is_set():
            cancelled = True
            source.stop()
    wall = time.perf_counter() - t_wall
    if end_event is not None and end_event.kind is SourceEventKind.ERROR:
        error = end_event.message
    duration = 0.0
    if stats.first_t_ns is not None:
        frame_dt = 1.0 / source.fps_hint if source.fps_hint else 0.0
        duration = (stats.last_t_ns - stats.first_t_ns) / NS_PER_S + frame_dt
    if source.duration_s and not cancelled and error is None:
        duration = max(duration, float(source.duration_s))
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
        "max_level": "inconclusive" if stats.frames_with_face == 0 else "green",
    }
    summary.update(stats.summary())
    return LockstepResult(summary=summary, evidence=evidence, error=error, cancelled=cancelled)


def _count_codes(evidence: list[Evidence], kind: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in evidence:
        if e.kind == kind:
            key = e.code or e.detector
            out[key] = out.get(key, 0) + 1
    return out


def analyze_file(path: str | Path, out_dir: str | Path, *, sample_fps: float = 0.0, max_width: int = 0,
                 analyzer: Analyzer | None = None, progress: ProgressFn | None = None,
                 cancel: threading.Event | None = None) -> LockstepResult:
    """Analyse ``path`` and write ``evidence.jsonl`` + ``summary.json`` into ``out_dir``.

    Raises ``InputError`` before writing anything when the file cannot be opened.
    """
    source = RecordingVideoSource(path, sample_fps=sample_fps, max_width=max_width)
    own = analyzer is None
    analyzer = analyzer or Analyzer()
    try:
        out = prepare_out_dir(Path(out_dir))
        result = run_lockstep(source, analyzer, progress=progress, cancel=cancel)
    finally:
        source.close()
        if own:
            analyzer.close()
    write_evidence_jsonl(out / "evidence.jsonl", result.evidence)
    atomic_write_json(out / "summary.json", result.summary)
    return result

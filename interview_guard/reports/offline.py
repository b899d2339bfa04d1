"""Offline analysis with a report: what ``interview-guard analyze FILE`` and the GUI's
"Analyse recording" view run.

``analyze_with_report`` = ``pipeline.lockstep.analyze_file`` (the same pipeline, lockstep, never
drops a frame; writes summary.json, evidence.jsonl, risk.json) + a ``ThumbnailCollector`` on
each step + ``report.html`` / ``report.json``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from interview_guard.pipeline.lockstep import LockstepResult, ProgressFn, analyze_file

#: Offline default: analyse 5 frames per second. The face checks measure at <= ~11 Hz and
#: summarise every 1-2 s, the CNN runs every 0.2 s: 5 fps keeps >= 7 samples per 1.5-s window
#: while costing a sixth of 30-fps analysis (bench/bench_offline_hour.py).
DEFAULT_SAMPLE_FPS = 5.0


@dataclass
class OfflineResult:
    result: LockstepResult
    out_dir: Path
    report_html: Path | None
    report_json: Path | None


def analyze_with_report(path: str | Path, out_dir: str | Path, *, sample_fps: float = DEFAULT_SAMPLE_FPS,
                        max_width: int = 0, analyzer=None, progress: ProgressFn | None = None,
                        cancel: threading.Event | None = None, report: bool = True,
                        analyzer_factory: Callable[[], object] | None = None,
                        workers: int | None = None) -> OfflineResult:
    """``workers``: recordings of 10 min or more are analysed in this many parallel parts
    (``reports.parallel``; default: 2 on a machine with 2+ cores); 1 = always one pass."""
    from interview_guard.reports.html import ReportInput, build_report
    from interview_guard.reports.thumbs import ThumbnailCollector

    from interview_guard.capture.recording import RecordingVideoSource

    from interview_guard.pipeline.outputs import prepare_out_dir

    src = RecordingVideoSource(path)      # a bad input or output fails here, before any model is loaded
    duration = float(src.duration_s or 0.0)
    src.close()
    prepare_out_dir(Path(out_dir))
    if analyzer is None and not max_width:
        from interview_guard.reports.parallel import auto_workers

        n = auto_workers(duration, workers)
        if n > 1 and analyzer_factory is not None:
            import pickle

            try:
                pickle.dumps(analyzer_factory)
            except Exception:  # noqa: BLE001 - a closure cannot reach worker processes: one pass
                n = 1
        if n > 1:
            return _analyze_in_parts(Path(path), Path(out_dir), sample_fps=sample_fps, workers=n, progress=progress,
                                     cancel=cancel, report=report, analyzer_factory=analyzer_factory)
    own = analyzer is None
    if analyzer is None:
        if analyzer_factory is not None:
            analyzer = analyzer_factory()
        else:
            from interview_guard.reports.parallel import default_offline_analyzer

            analyzer = default_offline_analyzer()
    fusion = getattr(analyzer, "fusion", None)
    collector = ThumbnailCollector(fusion) if report else None
    try:
        res = analyze_file(path, out_dir, sample_fps=sample_fps, max_width=max_width, analyzer=analyzer,
                           progress=progress, cancel=cancel, on_step=collector)
    finally:
        if own:
            analyzer.close()
    out = Path(out_dir)
    html_p = json_p = None
    if report:
        summary = dict(res.summary)
        summary["_modalities"] = {d.id: d.modality for d in getattr(analyzer, "detectors", [])}
        cfg = fusion.config if fusion is not None else None
        inp = ReportInput(summary=summary, evidence=res.evidence, cues=res.cues, points=res.risk,
                          thumbs=collector.thumbs() if collector else [],
                          overview=collector.overview() if collector else [], source_name=Path(path).name,
                          h_amber=cfg.h_amber if cfg else 3.0, h_red=cfg.h_red if cfg else 9.0,
                          inconclusive_after_s=cfg.inconclusive_after_s if cfg else 20.0)
        html_p, json_p = build_report(inp, out)
    return OfflineResult(res, out, html_p, json_p)


def _analyze_in_parts(path: Path, out: Path, *, sample_fps: float, workers: int, progress, cancel, report: bool,
                      analyzer_factory) -> OfflineResult:
    from interview_guard.pipeline.lockstep import LockstepResult
    from interview_guard.pipeline.outputs import atomic_write_json, write_evidence_jsonl
    from interview_guard.reports.html import ReportInput, build_report
    from interview_guard.reports.parallel import analyze_parts, thumbs_from_ring
    from interview_guard.reports.thumbs import pick_overview

    r = analyze_parts(path, sample_fps=sample_fps, workers=workers, analyzer_factory=analyzer_factory,
                      progress=progress, cancel=cancel)
    res = LockstepResult(summary=r.summary, evidence=r.evidence, error=r.error, cancelled=r.cancelled, cues=r.cues,
                         risk=r.risk)
    write_evidence_jsonl(out / "evidence.jsonl", r.evidence)
    atomic_write_json(out / "risk.json", [p.to_json() for p in r.risk])
    atomic_write_json(out / "summary.json", r.summary)
    html_p = json_p = None
    if report:
        from interview_guard.fusion.engine import FusionConfig
        from interview_guard.fusion.calibration import Calibration

        cfg = FusionConfig.from_mapping(Calibration.load().fusion)
        summary = dict(r.summary)
        summary["_modalities"] = r.modalities
        inp = ReportInput(summary=summary, evidence=r.evidence, cues=r.cues, points=r.risk,
                          thumbs=thumbs_from_ring(r.ring, r.cues, r.risk), overview=pick_overview(r.ring),
                          source_name=path.name,
                          h_amber=cfg.h_amber, h_red=cfg.h_red, inconclusive_after_s=cfg.inconclusive_after_s)
        html_p, json_p = build_report(inp, out)
    return OfflineResult(res, out, html_p, json_p)

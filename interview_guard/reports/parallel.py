"""Offline analysis of one long recording on both cores: two halves in two processes.

MediaPipe and the detectors run on one thread, so one process uses about one core. For a
recording of at least ``SPLIT_MIN_S`` (10 min) ``analyze_with_report`` cuts the timeline in
``workers`` equal parts; each part is decoded (seeking to its start), sampled and analysed by
its own process with its own Analyzer (video and, when there are audio detectors, the audio of
that part, interleaved by time exactly as the lockstep schedule does). The parent merges the
evidence in time order and runs the fusion once over all of it (``FusionEngine.replay``), so the
levels and cues are computed the same way as in one pass.

Differences from one pass, by design and small: each detector starts fresh at the cut (its
first window after the cut needs its usual warm-up, ~1.5 s; a per-call baseline restarts), and
frame sampling restarts on the cut. Thumbnails come from a 1-per-second ring each worker keeps
(~5 KB each, ~20 MB for an hour).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from interview_guard import __version__
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence, VideoFrame

SPLIT_MIN_S = 600.0


def probe(path: Path) -> dict:
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate
        dur = float(vs.duration * vs.time_base) if vs.duration is not None else (c.duration or 0) / 1e6
        t_first = None
        for f in c.decode(vs):
            t_first = float(f.time or 0.0)
            break
        return {"duration_s": dur, "fps": float(rate) if rate else 30.0, "width": vs.codec_context.width,
                "height": vs.codec_context.height, "t_first": t_first or 0.0, "has_audio": bool(c.streams.audio)}


def _frames(path: Path, start_s: float, end_s: float, t_first: float, sample_fps: float, cancel, counters: dict):
    """VideoFrames with t in [start_s, end_s) (relative to the file's first frame), sampled."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        if start_s > 0:
            c.seek(int((start_s + t_first) / vs.time_base), stream=vs, backward=True, any_frame=False)
        next_keep = start_s
        index = 0
        last = -1
        for fr in c.decode(vs):
            if cancel is not None and cancel.is_set():
                return
            t = float(fr.time if fr.time is not None else 0.0) - t_first
            counters["decoded"] += 1
            if t < start_s - 1e-6:
                continue
            if t >= end_s:
                return
            if sample_fps > 0 and t + 1e-6 < next_keep:
                continue
            if sample_fps > 0:
                next_keep = max(next_keep + 1.0 / sample_fps, t)
            t_ns = max(int(round(t * NS_PER_S)), last + 1)
            last = t_ns
            yield VideoFrame(t_ns=t_ns, index=index, image=np.ascontiguousarray(fr.to_ndarray(format="rgb24")),
                             source=f"file:{path.name}")
            index += 1


def _audio(path: Path, start_s: float, end_s: float, rate: int = 16000, chunk_s: float = 0.1):
    """16-kHz mono chunks covering [start_s, end_s) of the file's first audio track."""
    import av

    with av.open(str(path)) as c:
        if not c.streams.audio:
            return
        st = c.streams.audio[0]
        if start_s > 0:
            c.seek(int(start_s / st.time_base), stream=st, backward=True, any_frame=False)
        res = av.AudioResampler(format="flt", layout="mono", rate=rate)
        n = int(rate * chunk_s)
        pending = np.zeros(0, np.float32)
        pos = None      # sample index (from the file start) of pending[0]
        for fr in c.decode(st):
            for rf in res.resample(fr):
                x = rf.to_ndarray().reshape(-1).astype(np.float32)
                if pos is None:
                    pos = int(round(float(fr.time or 0.0) * rate))
                pending = np.concatenate([pending, x])
            while pos is not None and len(pending) >= n:
                blk, pending = pending[:n], pending[n:]
                t0 = pos
                pos += n
                if t0 + n <= start_s * rate:
                    continue
                if t0 >= end_s * rate:
                    return
                yield AudioChunk(t_ns=int(t0 * NS_PER_S // rate), samples=blk, sample_rate=rate,
                                 source=f"file-audio:{path.name}")


_STATE: dict = {}


def _init(progress_q, cancel_ev) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001
        pass
    _STATE["q"] = progress_q
    _STATE["cancel"] = cancel_ev


def default_offline_analyzer():
    """Every registered detector; the hand model only when a detector needs hands; no fusion
    in the workers (the parent fuses)."""
    from interview_guard.detectors import registry
    from interview_guard.perception.landmarks import PerceptionConfig
    from interview_guard.pipeline.analyzer import Analyzer

    dets = registry.create_all()
    hands = any("hands" in d.needs for d in dets)
    return Analyzer(detectors=dets, perception=PerceptionConfig(hands_every=3 if hands else 0))


def _part(args: tuple) -> dict:
    """One part in a worker process. Returns plain data (picklable)."""
    from interview_guard.pipeline.analyzer import RunStats
    from interview_guard.reports.thumbs import encode_jpeg

    idx, path, start_s, end_s, t_first, sample_fps, factory = args
    q, cancel = _STATE.get("q"), _STATE.get("cancel")
    analyzer = (factory or default_offline_analyzer)()
    analyzer.fusion = None                        # the parent fuses everything at once
    stats = RunStats()
    evidence: list[Evidence] = []
    ring: list[tuple[int, bytes]] = []
    counters = {"decoded": 0}
    first_face = None
    error = None
    audio_it = None
    if getattr(analyzer, "audio_detectors", None):
        audio_it = iter(_audio(Path(path), start_s, end_s))
    pending_audio = None
    last_thumb = None
    last_report = time.monotonic()
    try:
        for fr in _frames(Path(path), start_s, end_s, t_first, sample_fps, cancel, counters):
            while audio_it is not None:
                if pending_audio is None:
                    pending_audio = next(audio_it, None)
                    if pending_audio is None:
                        audio_it = None
                        break
                if pending_audio.t_ns + pending_audio.duration_ns > fr.t_ns:
                    break
                evidence.extend(analyzer.on_audio(pending_audio))
                pending_audio = None
            r = analyzer.on_frame(fr)
            stats.add(r)
            evidence.extend(r.evidence)
            if first_face is None and r.observation.face is not None:
                first_face = fr.t_ns
            if last_thumb is None or fr.t_ns - last_thumb >= NS_PER_S:
                last_thumb = fr.t_ns
                ring.append((fr.t_ns, encode_jpeg(fr.image)))
            now = time.monotonic()
            if q is not None and now - last_report > 0.5:
                last_report = now
                q.put((idx, fr.t_ns / NS_PER_S - start_s))
        if audio_it is not None and not (cancel is not None and cancel.is_set()):
            if pending_audio is not None:
                evidence.extend(analyzer.on_audio(pending_audio))
            for c in audio_it:
                evidence.extend(analyzer.on_audio(c))
    except Exception as e:  # noqa: BLE001 - reported as this part's error
        error = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    finally:
        analyzer.close()
    if q is not None:
        q.put((idx, end_s - start_s))
    return {"idx": idx, "evidence": [e.to_json() for e in evidence], "stats": stats.__dict__, "ring": ring,
            "first_face_ns": first_face, "decoded": counters["decoded"], "error": error,
            "cancelled": bool(cancel is not None and cancel.is_set()),
            "detectors": [{"id": d.id, "version": str(d.version), "modality": d.modality,
                           "kind": getattr(d, "kind", "risk")} for d in getattr(analyzer, "detectors", [])]}


@dataclass
class SplitResult:
    summary: dict
    evidence: list[Evidence]
    cues: list
    risk: list
    ring: list[tuple[int, bytes]]
    error: str | None
    cancelled: bool
    modalities: dict[str, str]


def analyze_parts(path: str | Path, *, sample_fps: float, workers: int = 2,
                  analyzer_factory: Callable[[], object] | None = None,
                  progress: Callable[[float, float], None] | None = None,
                  cancel: threading.Event | None = None, info: dict | None = None) -> SplitResult:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from interview_guard.fusion.engine import FusionEngine
    from interview_guard.fusion.fit import evidence_from_json
    from interview_guard.pipeline.analyzer import RunStats

    path = Path(path)
    info = info or probe(path)
    D = info["duration_s"]
    bounds = [D * i / workers for i in range(workers + 1)]
    bounds[-1] = max(D, bounds[-1]) + 3600.0      # the last part reads to the end whatever the duration says
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    ev = ctx.Event()
    done = [0.0] * workers
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init, initargs=(q, ev)) as pool:
        futs = [pool.submit(_part, (i, str(path), bounds[i], bounds[i + 1], info["t_first"], sample_fps,
                                    analyzer_factory)) for i in range(workers)]
        while not all(f.done() for f in futs):
            if cancel is not None and cancel.is_set():
                ev.set()
            try:
                i, d = q.get(timeout=0.2)
                done[i] = max(done[i], d)
                if progress:
                    progress(min(D, sum(done)), D)
            except queue.Empty:
                pass
        from concurrent.futures.process import BrokenProcessPool

        from interview_guard.core.errors import IGError

        try:
            parts = sorted((f.result() for f in futs), key=lambda p: p["idx"])
        except BrokenProcessPool:
            raise IGError("an analysis process stopped unexpectedly (out of memory?)",
                          hint="run again with --workers 1") from None
    wall = time.perf_counter() - t0
    evidence = sorted((evidence_from_json(e) for p in parts for e in p["evidence"]), key=lambda e: (e.t_end_ns, e.detector))
    stats = RunStats()
    for p in parts:
        s = p["stats"]
        for k in ("frames_analysed", "frames_with_face", "evidence"):
            setattr(stats, k, getattr(stats, k) + s[k])
        for k in ("yaw", "pitch", "face_px", "sharpness", "perception_ms", "detectors_ms"):
            getattr(stats, k).extend(s[k])
        if s["first_t_ns"] is not None and (stats.first_t_ns is None or s["first_t_ns"] < stats.first_t_ns):
            stats.first_t_ns = s["first_t_ns"]
        stats.last_t_ns = max(stats.last_t_ns, s["last_t_ns"])
    dets = parts[0]["detectors"]
    cancelled = any(p["cancelled"] for p in parts)
    errors = [p["error"] for p in parts if p["error"]]
    error = errors[0] if errors else None
    duration = D if not cancelled and error is None else (stats.last_t_ns - (stats.first_t_ns or 0)) / NS_PER_S
    from types import SimpleNamespace

    fusion = FusionEngine(detectors=[SimpleNamespace(id=d["id"], version=d["version"], modality=d["modality"],
                                                     kind=d.get("kind", "risk")) for d in dets])
    cues = fusion.replay(evidence, (stats.first_t_ns or 0) + int(round(duration * NS_PER_S)))

    def count(kind: str) -> dict:
        out: dict[str, int] = {}
        for e in evidence:
            if e.kind == kind:
                out[e.code or e.detector] = out.get(e.code or e.detector, 0) + 1
        return out

    summary = {
        "app_version": __version__, "source": path.name, "duration_s": round(duration, 3),
        "fps": round(info["fps"], 3), "width": info["width"], "height": info["height"],
        "frames_decoded": sum(p["decoded"] for p in parts), "wall_s": round(wall, 3),
        "realtime_factor": round(duration / wall, 3) if wall > 0 else None,
        "complete": error is None and not cancelled, "cancelled": cancelled, "error": error,
        "detectors": [{"id": d["id"], "version": d["version"]} for d in dets],
        "quality_events": count("quality"), "risk_events": count("risk"),
        "max_level": fusion.max_level.value, "cues": [c.to_json() for c in cues],
        "fusion": fusion.summary(), "workers": workers,
        "parts_s": [[round(b, 1) for b in bounds[i:i + 2]] for i in range(workers)],
    }
    summary["parts_s"][-1][1] = round(D, 1)
    summary.update(stats.summary())
    ring = [tuple(x) for p in parts for x in p["ring"]]
    return SplitResult(summary, evidence, cues, list(fusion.points), ring, error, cancelled,
                       {d["id"]: d["modality"] for d in dets})


def thumbs_from_ring(ring: list[tuple[int, bytes]], cues, points, *, top_n: int = 6, max_cue_thumbs: int = 24):
    """Thumbnails for the report from a 1-per-second ring (``reports.thumbs.Thumb``)."""
    import bisect
    import heapq

    from interview_guard.reports.thumbs import Thumb

    if not ring:
        return []
    ts = [t for t, _ in ring]

    def near(t_ns: int):
        i = bisect.bisect_left(ts, t_ns)
        j = min((k for k in (i - 1, i) if 0 <= k < len(ts)), key=lambda k: abs(ts[k] - t_ns))
        return ring[j]

    out, have = [], set()
    for c in cues:
        if c.level.value not in ("amber", "red") or len(out) >= max_cue_thumbs:
            continue
        for tt, cap, kind in [(c.t_ns, f"{c.level.value}: {c.headline}", "cue")] + \
                [((m.t_start_ns + m.t_end_ns) // 2, m.reason, "moment") for m in c.moments[:2]]:
            t, jpg = near(tt)
            if t not in have:
                have.add(t)
                out.append(Thumb(t, jpg, cap, kind))
    best = heapq.nlargest(top_n, (p for p in points if p.E > 0), key=lambda p: p.E)
    for p in best:
        t, jpg = near(p.t_ns - NS_PER_S)
        if t not in have:
            have.add(t)
            out.append(Thumb(t, jpg, f"high-risk moment (evidence {p.E:+.1f})", "risk"))
    return sorted(out, key=lambda th: th.t_ns)


def auto_workers(duration_s: float, requested: int | None) -> int:
    n = requested if requested is not None else min(2, os.cpu_count() or 1)
    return n if (n > 1 and duration_s >= SPLIT_MIN_S) else 1


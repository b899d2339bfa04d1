"""Foundation benchmark: per-stage cost, realtime fps / latency / drops, RSS, offline speed.

Run:  scripts/bench               (full: 10-minute realtime run, as in the issue)
      scripts/bench --smoke       (CI: 20 s realtime run)
Prints a table and writes bench/results/pipeline.json.

Setup measured (issue 2): 1280x720 input, one face, hands every 3rd frame, Realtime mode,
analysis worker pinned to one core, capture (decode + pacing) pinned to the other. The
source is a 1280x720 30 fps corpus clip played at its own rate, looped (lp_source_s18.mp4),
standing in for a captured call window; `--window` captures a real window under Xvfb instead.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.capture.recording import RecordingVideoSource  # noqa: E402
from interview_guard.core.clock import SessionClock  # noqa: E402
from interview_guard.core.types import VideoFrame  # noqa: E402
from interview_guard.pipeline.analyzer import Analyzer  # noqa: E402
from interview_guard.pipeline.lockstep import run_lockstep  # noqa: E402
from interview_guard.pipeline.realtime import PacedSource, RealtimeSession  # noqa: E402
from interview_guard.perception.landmarks import PerceptionConfig  # noqa: E402


def corpus() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus"))


CLIP_720 = "video_real/lp_source_s18.mp4"


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def pin(core: int) -> None:
    """Pin the calling thread (and threads it creates later) to one core, if there are two."""
    if hasattr(os, "sched_setaffinity") and os.cpu_count() and os.cpu_count() >= 2:
        os.sched_setaffinity(0, {core})


def stage_costs(clip: Path, n: int = 150) -> dict:
    """Per-stage ms on one core: decode, face landmarks, hands, detectors."""
    res: dict[str, list[float]] = {"decode": [], "face": [], "hands": [], "detectors": []}
    done = threading.Event()

    def work():
        pin(0)
        an = Analyzer(perception=PerceptionConfig(hands_every=3))
        src = RecordingVideoSource(clip)
        it = iter(src)
        for _ in range(n):
            t0 = time.perf_counter()
            fr = next(it)
            if not isinstance(fr, VideoFrame):
                break
            res["decode"].append((time.perf_counter() - t0) * 1e3)
            r = an.on_frame(fr)
            res["face"].append(an.perceiver.face_ms)
            if r.observation.hands_ran:
                res["hands"].append(an.perceiver.hand_ms)
            res["detectors"].append(r.detectors_ms)
        src.close()
        an.close()
        done.set()

    th = threading.Thread(target=work)
    th.start()
    th.join()
    return {k: {"median_ms": round(float(np.median(v)), 2), "p95_ms": round(float(np.percentile(v, 95)), 2)}
            for k, v in res.items() if v}


def realtime_run(clip: Path, seconds: float) -> dict:
    clock = SessionClock()

    def reopen():
        return RecordingVideoSource(clip)

    src = PacedSource(reopen(), clock, loop=True, reopen=reopen)

    class PinnedPaced(PacedSource):
        def __iter__(self):
            pin(1)
            yield from PacedSource.__iter__(self)

    src.__class__ = PinnedPaced

    def factory():
        pin(0)
        return Analyzer(perception=PerceptionConfig(hands_every=3))

    session = RealtimeSession(src, factory, clock=clock).start()
    session.wait_started()
    rss = []
    t_end = time.monotonic() + seconds
    t0 = time.monotonic()
    while time.monotonic() < t_end:
        time.sleep(1.0)
        rss.append(rss_mb())
        session.latest.drain()
        session.evidence.drain()
    wall = time.monotonic() - t0
    st = session.stats()
    session.stop()
    session.join()
    lat = np.array(list(session._lat))
    return {
        "seconds": round(wall, 1),
        "captured": st.captured,
        "analysed": st.analysed,
        "dropped": st.dropped,
        "analysed_fps": round(st.analysed / wall, 2),
        "input_fps": round(st.captured / wall, 2),
        "latency_p50_ms": round(float(np.percentile(lat, 50)), 1),
        "latency_p95_ms": round(float(np.percentile(lat, 95)), 1),
        "rss_mb_start": round(rss[0], 1) if rss else None,
        "rss_mb_max": round(max(rss), 1) if rss else None,
        "rss_mb_end": round(rss[-1], 1) if rss else None,
    }


def max_throughput(clip: Path, n: int = 240) -> dict:
    """Analysis fps on one core when frames are always ready (upper bound of the realtime loop)."""
    frames = []
    for it in RecordingVideoSource(clip):
        if isinstance(it, VideoFrame):
            frames.append(it)
        if len(frames) >= n:
            break
    out = {}

    def work():
        pin(0)
        an = Analyzer(perception=PerceptionConfig(hands_every=3))
        t0 = time.perf_counter()
        for f in frames:
            an.on_frame(f)
        out["fps"] = len(frames) / (time.perf_counter() - t0)
        an.close()

    th = threading.Thread(target=work)
    th.start()
    th.join()
    return {"frames": len(frames), "analysed_fps_one_core": round(out["fps"], 2)}


def offline_speed(clip: Path, runs: int = 3) -> dict:
    """Lockstep over the whole clip ``runs`` times (one Analyzer each, built before the clock
    starts); the median run is reported with all factors (a 9-s clip is sensitive to a busy
    moment on a shared machine)."""
    rows = []
    for _ in range(runs):
        an = Analyzer()
        res = run_lockstep(RecordingVideoSource(clip), an)
        an.close()
        s = res.summary
        rows.append({"duration_s": s["duration_s"], "frames": s["frames_analysed"], "wall_s": s["wall_s"],
                     "realtime_factor": s["realtime_factor"]})
    med = sorted(rows, key=lambda r: r["realtime_factor"])[len(rows) // 2]
    return {"clip": clip.name, **med, "runs": [r["realtime_factor"] for r in rows]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="short run for CI")
    ap.add_argument("--seconds", type=float, help="realtime run length (default 600, smoke 20)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "pipeline.json"))
    args = ap.parse_args()
    clip = corpus() / CLIP_720
    if not clip.is_file():
        print(f"error: benchmark clip {clip} not found (set IG_CORPUS)", file=sys.stderr)
        return 2
    seconds = args.seconds or (20.0 if args.smoke else 600.0)
    results = {"machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "input": f"{CLIP_720} 1280x720@30"}
    print(f"benchmark on {clip.name} (1280x720, 30 fps); realtime run {seconds:.0f} s")
    results["stages_one_core"] = stage_costs(clip, 90 if args.smoke else 300)
    for k, v in results["stages_one_core"].items():
        print(f"  stage {k:<10} median {v['median_ms']:6.2f} ms   p95 {v['p95_ms']:6.2f} ms")
    results["throughput"] = max_throughput(clip, 120 if args.smoke else 280)
    print(f"  analysis throughput (one core, hands every 3rd frame): {results['throughput']['analysed_fps_one_core']:.1f} fps")
    results["realtime"] = realtime_run(clip, seconds)
    r = results["realtime"]
    print(f"  realtime: {r['analysed_fps']:.1f} fps analysed of {r['input_fps']:.1f} fps input, {r['dropped']} dropped "
          f"of {r['captured']}; latency p50 {r['latency_p50_ms']} ms, p95 {r['latency_p95_ms']} ms; "
          f"RSS {r['rss_mb_start']}→{r['rss_mb_end']} MB (max {r['rss_mb_max']})")
    results["offline"] = offline_speed(clip)
    o = results["offline"]
    print(f"  offline analyze (lockstep, every frame, both cores free): {o['duration_s']} s of video in {o['wall_s']} s "
          f"= {o['realtime_factor']}x real time (median of {len(o['runs'])} runs: {o['runs']})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

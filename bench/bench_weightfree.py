"""Per-frame cost of the five weight-free face-swap detectors on real 720p frames, one core.

Run:  .venv/bin/python bench/bench_weightfree.py [--clip video_real/lp_source_s18.mp4] [--frames 120]

The clip (1280x720, 30 fps, one face) is decoded at its own rate and MediaPipe runs once per
frame (not timed here); then each detector's ``process`` is timed on every frame, as the
pipeline calls it. Measurement is decimated by stream time (≤ ~11 Hz), so at 30 fps about one
frame in three pays the full cost; "per frame" is the mean over all frames (what the pipeline
pays on average), "per measured frame" the median and 95th percentile over frames that took
longer than 0.05 ms (thread CPU clocks tick coarsely on some systems: read the means).

* ``alone``: the detector on fresh observations (only the perception's grey frame cached), so it
  pays for the crops it needs itself;
* ``together``: all five in registry order on the same observations, sharing the memoised crops
  (``perception.crops``, ``_weightfree`` caches) as they do in the app.

The analysis worker is pinned to one core and OpenCV to one thread. Times are the thread's CPU
time (``time.thread_time``), so other processes on a shared machine do not inflate them (wall
time on a loaded machine would count their turns too); cache contention still adds some.
Timing is not asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.capture.recording import RecordingVideoSource  # noqa: E402
from interview_guard.core.types import Observation, VideoFrame  # noqa: E402
from interview_guard.detectors import registry  # noqa: E402
from interview_guard.detectors.contract import Window  # noqa: E402
from interview_guard.perception.landmarks import PerceptionConfig, Perceiver  # noqa: E402

DETECTOR_IDS = ("sharpness_mismatch", "colour_mismatch", "seam_band", "identity_flicker", "landmark_jitter")


def corpus() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus"))


def fresh(o: Observation) -> Observation:
    """The same observation with only what perception itself caches (the grey frame)."""
    return Observation(frame=o.frame, faces=o.faces, hands=o.hands, hands_ran=o.hands_ran,
                       frame_diff=o.frame_diff, perception_ms=o.perception_ms, cache={"gray": o.cache["gray"]})


def timed(dets, observations) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {d.id: [] for d in dets}
    for o in observations:
        w = Window(t_ns=o.t_ns, observation=o)
        for d in dets:
            t0 = time.thread_time()
            d.process(w)
            out[d.id].append((time.thread_time() - t0) * 1e3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clip", default="video_real/lp_source_s18.mp4")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--repeat", type=int, default=3, help="time each configuration this many times, keep the best")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) >= 2:
        os.sched_setaffinity(0, {0})
    import cv2

    cv2.setNumThreads(1)
    path = corpus() / args.clip
    obs: list[Observation] = []
    with Perceiver(config=PerceptionConfig(hands_every=0)) as per:
        for fr in RecordingVideoSource(path):
            if not isinstance(fr, VideoFrame) or len(obs) >= args.frames:
                break
            obs.append(per.observe(fr, want_hands=False))
    faces = [o.face.size_px for o in obs if o.face is not None]
    h, w = obs[0].frame.image.shape[:2]
    print(f"{path.name}: {len(obs)} frames {w}x{h}, face in {len(faces)}, median face {np.median(faces):.0f} px; "
          f"one core, cv2 threads 1")

    def best(run) -> dict[str, list[float]]:
        res = None
        for _ in range(args.repeat):
            r = run()
            if res is None or sum(map(sum, r.values())) < sum(map(sum, res.values())):
                res = r
        return res  # type: ignore[return-value]

    alone = {}
    for det_id in DETECTOR_IDS:
        alone.update(best(lambda: timed(registry.create_all([det_id]), [fresh(o) for o in obs])))
    together = best(lambda: timed(registry.create_all(DETECTOR_IDS), [fresh(o) for o in obs]))

    print(f"{'detector':20s} {'alone ms/frame':>15s} {'measured p50':>13s} {'p95':>7s} {'together ms/frame':>18s}")
    for det_id in DETECTOR_IDS:
        a = np.array(alone[det_id])
        m = a[a > 0.05]
        print(f"{det_id:20s} {a.mean():15.2f} {np.median(m) if m.size else 0:13.2f} "
              f"{np.percentile(m, 95) if m.size else 0:7.2f} {np.mean(together[det_id]):18.2f}")
    tot = np.sum([together[d] for d in DETECTOR_IDS], axis=0)
    print(f"{'all five':20s} {'':15s} {'':13s} {'':7s} {tot.mean():18.2f}   "
          f"(per frame; worst frame {tot.max():.2f} ms, p95 {np.percentile(tot, 95):.2f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Inference cost of the face-swap CNN on one core (onnxruntime, intra_op_num_threads=1).

    .venv/bin/python bench/bench_face_model.py [--runs 300]

Prints the per-face model time (median / p90 over single-face runs) and the detector's added
cost per 720p frame with one face (aligned crop + model at 5 Hz, amortised over a 30 fps stream).
Budget (issue 3): model ≤ 5 ms per face on one core. Timings depend on machine load: run it on a
quiet machine. Nothing is asserted here.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=300)
    a = ap.parse_args(argv)
    from interview_guard.core.types import NS_PER_S, Observation, VideoFrame
    from interview_guard.detectors.contract import Window
    from interview_guard.detectors.face_swap_cnn import FaceSwapCNNDetector
    from tests.unit.synthetic import astronaut, face_mesh, make_face

    det = FaceSwapCNNDetector()
    crop = np.random.default_rng(0).integers(0, 255, (1, 128, 128, 3), dtype=np.uint8)
    for _ in range(20):
        det.model.logits(crop)
    ts = []
    for _ in range(a.runs):
        t = time.perf_counter()
        det.model.logits(crop)
        ts.append((time.perf_counter() - t) * 1e3)
    # 720p frame with the astronaut's face (about 230 px tall) pasted in
    img, lm = astronaut(), face_mesh()
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[100:612, 384:896] = img
    lm = lm.copy()
    lm[:, 0] += 384
    lm[:, 1] += 100
    face = make_face(lm, frame)
    per_frame = []
    det.reset()
    n = 150
    for i in range(n):
        obs = Observation(frame=VideoFrame(t_ns=int(i * NS_PER_S / 30), index=i, image=frame), faces=(face,),
                          hands=(), hands_ran=False, frame_diff=1.0)
        t = time.perf_counter()
        det.process(Window(t_ns=obs.t_ns, observation=obs))
        per_frame.append((time.perf_counter() - t) * 1e3)
    res = {"model_ms_per_face_median": round(float(np.median(ts)), 3),
           "model_ms_per_face_p90": round(float(np.percentile(ts, 90)), 3),
           "model_ms_per_face_min": round(float(np.min(ts)), 3),
           "detector_ms_per_720p_frame_mean_at_30fps": round(float(np.mean(per_frame)), 3),
           "detector_inferences_per_s": round(det.n_inferences / (n / 30), 2),
           "threads": 1, "cv2_threads": cv2.getNumThreads()}
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

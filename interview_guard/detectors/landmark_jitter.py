"""Face-mesh jitter relative to head motion (S8).

Why. The face landmarker fits its mesh to the picture in every frame. On a real face the fit
moves smoothly with the head; on a generated face (a swap, a talking-head model) texture that
is re-rendered each frame and boundaries that shift make the fit less stable, so the mesh
trembles more than the head's motion explains, especially when the head turns.

What is measured, at ≤ ~11 Hz of stream time, on the 468 mesh points (irises excluded):

* rigid motion is removed by similarity-aligning the two previous samples onto the newest
  (Procrustes); jitter = median over points of the second difference
  ‖L_t − 2L_{t−1} + L_{t−2}‖ in inter-ocular distances (IOD); samples must be evenly spaced
  (0.05–0.25 s apart, ratio < 1.5), else the triple is skipped;
* head motion m = |Δyaw| + |Δpitch| (degrees) over the triple;
* what genuine faces show depends on head motion, face size (pixel quantisation) and yaw, so
  the feature is the log ratio of the jitter to a genuine reference model
  ``log j_exp = B0[yaw bin] + B1·log(IOD/50 px) + B2·log(1 + m/2°)``, yaw bins 0–15° and
  15–35° (beyond, the gate abstains); window feature = median of that log ratio over ~1.5 s.

llr: one-sided Gaussian model on its z-score against genuine footage (``tail_z``: genuine
p5/median/p95).
"""

from __future__ import annotations

import math

import numpy as np

from interview_guard.core.types import Evidence, Observation
from interview_guard.detectors import _weightfree as wf
from interview_guard.detectors.registry import register

# Genuine reference model and statistics, fitted on the corpus ``video_real`` clips only (no fake
# labels; least squares of the window log jitter on the yaw bin, log(IOD/50) and log(1 + m/2°)):
#   .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
# REF_RESID: (p5, median, p95) of the window residual over real windows.
B0 = (-5.4765, -5.4762)   # per yaw bin: |yaw| < 15°, 15–35° (the corpus shows no difference)
B1 = 0.1187
B2 = 1.1338
REF_RESID = (-0.68, -0.06, 0.56)
YAW_BIN_EDGE = 15.0

MIN_DT_S, MAX_DT_S, MAX_DT_RATIO = 0.05, 0.25, 1.5


def expected_log_jitter(iod: float, motion_deg: float, yaw: float) -> float:
    b0 = B0[0] if abs(yaw) < YAW_BIN_EDGE else B0[1]
    return b0 + B1 * math.log(max(iod, 1.0) / 50.0) + B2 * math.log1p(motion_deg / 2.0)


@register
class LandmarkJitterDetector(wf.WeightFreeDetector):
    id = "landmark_jitter"
    version = "1"
    measure_phase_s = 0.03
    description = ("Measures how much the face mesh trembles beyond what the head's motion explains "
                   "(generated faces make the landmark fit unstable).")
    min_samples = 4

    def reset_state(self) -> None:
        self._prev: list[tuple[int, np.ndarray, float, float]] = []   # (t_ns, (468,2) px, yaw, pitch)

    def on_gap(self, t_ns: int, why: str) -> None:
        self._prev = []

    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        face = obs.face
        assert face is not None
        lm = face.landmarks[:468, :2].astype(np.float64)
        self._prev.append((t_ns, lm, face.pose.yaw, face.pose.pitch))
        if len(self._prev) > 3:
            self._prev.pop(0)
        if len(self._prev) < 3:
            return {}
        (ta, la, ya, pa), (tb, lb, _, _), (tc, lc, yc, pc) = self._prev
        d1, d2 = (tb - ta) / 1e9, (tc - tb) / 1e9
        if not (MIN_DT_S <= d1 <= MAX_DT_S and MIN_DT_S <= d2 <= MAX_DT_S) or max(d1, d2) > MAX_DT_RATIO * min(d1, d2):
            return {}
        ma = wf.similarity(la, lc)
        mb = wf.similarity(lb, lc)
        a = la @ ma[:, :2].T + ma[:, 2]
        b = lb @ mb[:, :2].T + mb[:, 2]
        iod = wf.face_frame(face).iod
        jit = float(np.median(np.hypot(*(lc - 2 * b + a).T))) / iod
        motion = abs(yc - ya) + abs(pc - pa)
        resid = math.log(jit + 1e-5) - expected_log_jitter(iod, motion, face.pose.yaw)
        return {"logjit": math.log(jit + 1e-5), "iod": iod, "motion": motion, "yaw": abs(face.pose.yaw),
                "resid": resid}

    def summarise(self, samples, t0, t1, quality) -> Evidence | None:
        ms = [m for _, m in samples if "resid" in m]
        if len(ms) < 3:
            return None
        resid = float(np.median([m["resid"] for m in ms]))
        z = wf.tail_z(resid, REF_RESID)
        llr = wf.gauss_llr(z)
        details = {"f_resid": resid, "f_logjit": float(np.median([m["logjit"] for m in ms])),
                   "f_logiod": math.log(float(np.median([m["iod"] for m in ms])) / 50.0),
                   "f_logmot": math.log1p(float(np.median([m["motion"] for m in ms])) / 2.0),
                   "f_yaw": float(np.median([m["yaw"] for m in ms])), "z": z, "n": len(ms)}
        ratio = math.exp(resid - REF_RESID[1])
        if llr > 0:
            reason = (f"The face mesh trembles {ratio:.1f}× more than the head's movement explains, as it does on "
                      "generated faces. Ask the candidate to turn their head slowly from side to side.")
            code = "mesh_unstable"
        else:
            reason = "The face mesh follows the head smoothly, as on a real face."
            code = "consistent"
        return self.evidence(t0, t1, llr, quality, reason, code, details)

"""Sharpness and motion-blur mismatch between the face and its surroundings (S2 + S3).

Why. A real-time swapper renders the face at a fixed, small resolution (128 px for
inswapper/Deep-Live-Cam, 224–320 px for DeepFaceLive models) and pastes it back, so the inner
face carries less fine detail than the real skin, ears and hair around it; an "enhancer"
(GFPGAN, GPEN, unsharp masking) pushes it the other way, sharper than its surroundings. A
real head is one optical object: the face and the neck/ears beside it share focus, noise,
codec and motion blur.

What is measured, at ≤ ~11 Hz of stream time on the full-resolution grey frame:

* ``E(p)`` = edge-robust fine-detail energy of a square patch p: the mean of the lower 80 %
  of |Laplacian| values (strong edges — a collar, an ear outline — are ignored), divided by the
  patch's mean luminance + 10 (so exposure and skin tone do not matter).
* inside: cheeks (mesh 50, 280) and forehead (151), half-side 0.18·IOD; outside: the neck
  below the chin (152 + 0.35·IOD down, half-side 0.15·IOD, and 0.6·IOD down, half-side 0.25·IOD;
  both outside every swapper's blend mask) and the ear patches beside 234 and
  454 (0.35·IOD outwards, half-side 0.18·IOD). Only patches on the frame and skin-coloured (≥ 40 %
  of pixels in a generic skin range) are used: a cap, a fringe, a collar or the wall behind is
  not skin, and comparing skin with a plain wall would say nothing. No skin outside → no
  measurement.
* ``s = mean log E(inside) − mean log E(outside)``; window feature = median of s over ~1.5 s.
* Motion blur (S3): when the face moves faster than 1 face-width per second, the directional
  anisotropy a = log(E⊥/E∥) of Sobel gradients relative to the motion direction is compared
  inside vs outside: ``m = a_out − a_in`` > 0 means the face is less motion-blurred than the
  head around it.

llr: two-sided Gaussian model (``_weightfree.gauss_llr``) on the z-score of the window feature
against genuine footage (population prior: ``tail_z`` with the genuine p5/median/p95), and —
after ~12 s of usable face — against this call's own running baseline (median of its windows)
with the within-call spread, which catches a swap that starts, or drops out, mid-call; the
larger llr is reported. The motion-blur term is one-sided and only when fast-motion samples
exist.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.core.types import Evidence, Observation
from interview_guard.detectors import _weightfree as wf
from interview_guard.detectors.registry import register
from interview_guard.perception.crops import gray_frame

# Genuine reference statistics, measured on the corpus ``video_real`` clips only (no fake labels):
#   .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
# (p5, median, p95) of the window feature over all real windows (``f_*`` detail), and the
# within-clip standard deviation of window values (median over clips).
REF_S = (-1.40, -0.49, 1.20)
REF_S_WITHIN_CALL = 0.30          # 2 × the within-clip sd (0.15) measured on ~10-s clips: a call drifts more
REF_M = (-1.79, -0.18, 1.91)       # only 40 fast-motion windows in the corpus: a rough prior
BASELINE_MIN_WINDOWS = 8          # ~12 s of usable face before the per-call baseline is used

IN_POINTS = (50, 280, 151)        # cheeks, forehead
IN_HALF = 0.18                    # × IOD
NECKS = ((0.35, 0.15), (0.6, 0.25))   # (distance below the chin, half-side) × IOD
SIDE_OUT, SIDE_HALF = 0.35, 0.18
FAST_FACE_WIDTHS_PER_S = 1.0


def detail_energy(patch: np.ndarray) -> float:
    """Edge-robust fine-detail energy: mean of the lower 80 % of |Laplacian| / (mean + 10)."""
    p = patch.astype(np.float32)
    lap = np.abs(cv2.Laplacian(p, cv2.CV_32F, ksize=1)[1:-1, 1:-1]).ravel()
    if lap.size < 16:
        return float("nan")
    k = int(0.8 * lap.size)
    low = np.partition(lap, k)[:k]
    return float(low.mean() / (p.mean() + 10.0))


def anisotropy(patch: np.ndarray, u: np.ndarray) -> float:
    """log(E⊥ / E∥) of Sobel gradients w.r.t. the unit motion direction u (blur along u → > 0)."""
    p = patch.astype(np.float32)
    gx = cv2.Sobel(p, cv2.CV_32F, 1, 0, ksize=3)[1:-1, 1:-1]
    gy = cv2.Sobel(p, cv2.CV_32F, 0, 1, ksize=3)[1:-1, 1:-1]
    par = gx * u[0] + gy * u[1]
    perp = -gx * u[1] + gy * u[0]
    return float(math.log((np.mean(perp * perp) + 1.0) / (np.mean(par * par) + 1.0)))


def regions(obs: Observation) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Grey patches inside (cheeks, forehead) and outside (neck, ears) the face that look like skin
    (``_weightfree.skin_lab``): a cap, a fringe, a collar or a plain wall is not compared."""
    face = obs.face
    assert face is not None
    g = gray_frame(obs)
    ff = wf.face_frame(face)
    lm = face.landmarks[:, :2].astype(np.float64)
    iod = ff.iod

    def pick(centre: np.ndarray, half: float) -> np.ndarray | None:
        pg = wf.square(g, centre, half)
        if pg is None or wf.skin_lab_at(obs, centre, half) is None:
            return None
        return pg

    ins = [pick(lm[k], IN_HALF * iod) for k in IN_POINTS]
    outs = [pick(lm[152] + ff.down * d * iod, h * iod) for d, h in NECKS]
    outs += [pick(lm[234] - ff.right * SIDE_OUT * iod, SIDE_HALF * iod),
            pick(lm[454] + ff.right * SIDE_OUT * iod, SIDE_HALF * iod)]
    return [p for p in ins if p is not None], [p for p in outs if p is not None]


@register
class SharpnessMismatchDetector(wf.WeightFreeDetector):
    id = "sharpness_mismatch"
    version = "1"
    description = ("Compares fine detail and motion blur inside the face with the neck and ears around it "
                   "(pasted-in faces are often softer or over-sharpened).")
    gate_config = wf.GateConfig(max_blockiness=1.6)

    def reset_state(self) -> None:
        self._prev: tuple[int, np.ndarray, float] | None = None   # (t_ns, face centre, face width)
        self._windows: list[float] = []

    def on_gap(self, t_ns: int, why: str) -> None:
        self._prev = None

    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        ins, outs = regions(obs)
        if not ins or not outs:
            return None
        e_in = [detail_energy(p) for p in ins]
        e_out = [detail_energy(p) for p in outs]
        e_in = [e for e in e_in if e > 0 and math.isfinite(e)]
        e_out = [e for e in e_out if e > 0 and math.isfinite(e)]
        if not e_in or not e_out:
            return None
        s = float(np.mean(np.log(e_in)) - np.mean(np.log(e_out)))
        out = {"s": s}
        face = obs.face
        assert face is not None
        lm = face.landmarks
        centre = lm[[1, 33, 263, 152, 10], :2].astype(np.float64).mean(0)
        width = float(np.linalg.norm(lm[454, :2] - lm[234, :2])) or 1.0
        if self._prev is not None:
            t0, c0, _ = self._prev
            dt = (t_ns - t0) / 1e9
            if dt > 0:
                v = (centre - c0) / dt
                speed = float(np.hypot(*v)) / width
                out["speed"] = speed
                if speed > FAST_FACE_WIDTHS_PER_S:
                    u = v / (np.hypot(*v) or 1.0)
                    a_in = float(np.mean([anisotropy(p, u) for p in ins]))
                    a_out = float(np.mean([anisotropy(p, u) for p in outs]))
                    out["m"] = a_out - a_in
        self._prev = (t_ns, centre, width)
        return out

    def summarise(self, samples, t0, t1, quality) -> Evidence | None:
        s = float(np.median([m["s"] for _, m in samples]))
        z_pop = wf.tail_z(s, REF_S)
        llrs = {"pop": wf.gauss_llr(z_pop, two_sided=True)}
        z_call = base = float("nan")
        if len(self._windows) >= BASELINE_MIN_WINDOWS:
            base = float(np.median(self._windows))
            z_call = wf.robust_z(s, base, REF_S_WITHIN_CALL)
            llrs["call"] = wf.gauss_llr(z_call, two_sided=True)
        self._windows = (self._windows + [s])[-400:]    # the last ~10 min
        ms = [m["m"] for _, m in samples if "m" in m]
        f_m = z_m = float("nan")
        if ms:
            f_m = float(np.median(ms))
            z_m = wf.tail_z(f_m, REF_M)
            llrs["motion"] = wf.gauss_llr(z_m)
        driver = max(llrs, key=lambda k: llrs[k])
        llr = llrs[driver]
        rel = s - REF_S[1]            # log ratio vs what genuine faces show
        details = {"f_s": s, "z_pop": z_pop, "z_call": z_call, "call_baseline": base, "f_m": f_m, "z_m": z_m,
                   "n": len(samples), "n_fast": len(ms), "detail_ratio_vs_typical": math.exp(rel)}
        if llr <= 0:
            reason = ("The fine detail of the face matches the neck and ears around it, as on a real camera "
                      f"(ratio {math.exp(rel):.2f} of the typical value).")
            code = "consistent"
        elif driver == "motion":
            reason = ("While the head moved quickly, the face stayed sharper than the hair and ears around it, "
                      "which were motion-blurred, as a pasted-in face can. "
                      "Ask the candidate to turn their head slowly and watch the edges of the face.")
            code = "face_not_motion_blurred"
        elif driver == "call":
            d = s - base
            more_less = "less" if d < 0 else "more"
            reason = (f"The face now shows {wf.fmt_ratio(d)} {more_less} fine detail, relative to the neck and ears "
                      "around it, than earlier in this call, as when a face-swap tool starts or stops. "
                      "Ask the candidate to turn their head slowly or move closer to the camera.")
            code = "face_detail_changed"
        elif rel < 0:
            reason = (f"The face shows {wf.fmt_ratio(rel)} less fine detail, relative to the neck and ears around "
                      "it, than faces usually do on camera; pasted-in faces are often softer than their surroundings. "
                      "Ask the candidate to turn their head slowly or move closer to the camera.")
            code = "face_softer"
        else:
            reason = (f"The face shows {wf.fmt_ratio(rel)} more fine detail, relative to the neck and ears around "
                      "it, than faces usually do on camera; over-sharpened pasted-in faces look like this. "
                      "Ask the candidate to turn their head slowly or move closer to the camera.")
            code = "face_sharper"
        return self.evidence(t0, t1, llr, quality, reason, code, details)

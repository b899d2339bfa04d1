"""Appearance / identity flicker of the inner face over time: sudden A→B→A jumps (S1).

Why. Real-time swappers drop the swap when their face detector misses a frame or a hand covers
the face (Deep-Live-Cam returns the original frame; detection runs only every few frames), so
the impostor's own face flashes for a few frames and then the swapped face comes back; and a
generated face is rendered frame by frame, so its texture and colour "boil" more from one frame
to the next than real skin does. A real face changes appearance smoothly, in step with its
motion.

What is measured, at ≤ ~11 Hz of stream time, on the 64 × 64 ArcFace-aligned face crop
(``perception.crops.aligned_face``, shared with other detectors), inside an ellipse covering the
inner face:

* descriptor D_t: a uniform-LBP histogram (8 neighbours, radius 1, 59 bins) of the grey crop
  (lightly blurred, σ 0.8 px, so sensor noise does not dominate) plus a 16-bin hue × saturation
  histogram (skin-centred hue bins), each normalised to sum 1;
* jump J_t = χ²(D_t, D_{t−1}), normalised by what landmark motion explains:
  ``Jn = J / (J0 + K·r)`` where r is the non-rigid landmark motion between the two samples
  (median residual of the 468 mesh points after a similarity fit, in inter-ocular distances);
* A→B→A event: a run of 1–10 samples all further than ``JUMP_T`` (normalised) from the sample
  before the run, followed by a sample back within ``RETURN_T`` of it;
* lighting: when the whole frame's mean brightness steps by more than ``LIGHT_JUMP`` grey levels
  between samples (a camera flash, a lamp), the history restarts: the face changed because the
  light did. A swap dropping out changes the face only.

llr: an A→B→A event gives the maximum passive llr (+2.3); otherwise a one-sided Gaussian
model on the z-score (``tail_z``: genuine p5/median/p95) of log(median Jn over ~1.5 s).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.core.types import Evidence, Observation
from interview_guard.detectors import _weightfree as wf
from interview_guard.detectors.registry import register
from interview_guard.perception.crops import aligned_face, gray_frame

# Genuine reference statistics, measured on the corpus ``video_real`` clips only (no fake labels):
#   .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
# J0, K_MOTION: least squares of the window-median χ² jump on the window-median landmark motion;
# REF_LOGJ: (p5, median, p95) of log(median Jn) over real windows; JUMP_T ≈ genuine p99 of the
# window maximum of Jn (≈ the 99.9th percentile of single jumps).
J0 = 0.001             # fits gave 0.0003–0.0026: J0 ≪ K·r for any real motion, so it hardly matters
K_MOTION = 2.0         # fits gave 1.80–2.03
REF_LOGJ = (-0.76, -0.34, 0.39)
JUMP_T = 10.0          # genuine window-max Jn: p95 3.8, p99 39 (cuts, a second person); a flash is ≫ 10
RETURN_T = 4.0         # "back to A": within about the genuine p95 of a window's largest jump
MAX_RUN = 10
LIGHT_JUMP = 6.0       # grey levels: a whole-frame brightness step this large is a lighting change

CROP = 64


def _uniform_lut() -> np.ndarray:
    lut = np.full(256, 58, dtype=np.intp)
    label = 0
    for code in range(256):
        bits = [(code >> i) & 1 for i in range(8)]
        transitions = sum(bits[i] != bits[(i + 1) % 8] for i in range(8))
        if transitions <= 2:
            lut[code] = label
            label += 1
    assert label == 58
    return lut


_LUT = _uniform_lut()
_OFFS = ((-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1))   # circular order


def _ellipse_mask() -> np.ndarray:
    yy, xx = np.mgrid[0:CROP, 0:CROP].astype(np.float32)
    return (((xx - 31.5) / 25.0) ** 2 + ((yy - 35.0) / 28.0) ** 2) <= 1.0


_MASK = _ellipse_mask()
_MASK_INNER = _MASK[1:-1, 1:-1]
_HUE_EDGES = np.array([0, 8, 16, 24, 160, 181])   # OpenCV hue 0..180; 160..180 wraps to the first bin
_SAT_EDGES = np.array([0, 64, 128, 192, 256])


def lbp_hist(gray: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """59-bin uniform LBP (8 neighbours, radius 1) histogram of the interior pixels, sum 1."""
    g = gray.astype(np.int16)
    h, w = g.shape
    c = g[1:-1, 1:-1]
    code = np.zeros(c.shape, dtype=np.uint8)
    for bit, (dy, dx) in enumerate(_OFFS):
        code |= (g[1 + dy:h - 1 + dy, 1 + dx:w - 1 + dx] >= c).astype(np.uint8) << bit
    labels = _LUT[code]
    if mask is not None:
        labels = labels[mask]
    hist = np.bincount(labels.ravel(), minlength=59).astype(np.float64)
    return hist / max(1.0, hist.sum())


def hs_hist(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """16-bin hue × saturation histogram (4 skin-centred hue bins × 4 saturation bins), sum 1."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)[mask]
    hue = np.digitize(hsv[:, 0], _HUE_EDGES[1:-1])        # 0..4
    hue[hue == 4] = 0                                      # wrap the reds
    sat = np.digitize(hsv[:, 1], _SAT_EDGES[1:-1])
    hist = np.bincount(hue * 4 + sat, minlength=16).astype(np.float64)
    return hist / max(1.0, hist.sum())


def chi2(a: np.ndarray, b: np.ndarray) -> float:
    s = a + b
    nz = s > 0
    return float(0.5 * np.sum((a[nz] - b[nz]) ** 2 / s[nz]))


def descriptor(obs: Observation) -> tuple[np.ndarray, np.ndarray] | None:
    crop = aligned_face(obs, CROP)
    if crop is None:
        return None
    # a light blur first: radius-1 LBP on a downscaled crop is otherwise dominated by sensor noise
    gray = cv2.GaussianBlur(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (3, 3), 0.8)
    return lbp_hist(gray, _MASK_INNER), hs_hist(crop, _MASK)


def nonrigid_motion(a: np.ndarray, b: np.ndarray, iod: float) -> float:
    """Median residual (in IODs) of mesh points b after the best similarity onto a."""
    m = wf.similarity(b, a)
    bb = b @ m[:, :2].T + m[:, 2]
    return float(np.median(np.hypot(*(bb - a).T)) / max(iod, 1e-6))


@register
class IdentityFlickerDetector(wf.WeightFreeDetector):
    id = "identity_flicker"
    version = "1"
    measure_phase_s = 0.06
    gate_config = wf.GateConfig(max_blockiness=1.6)     # LBP texture would read codec blocks
    description = ("Tracks the look of the inner face over time and flags sudden jumps to a different appearance "
                   "and back, and more frame-to-frame texture change than the face's motion explains.")
    min_samples = 4

    def reset_state(self) -> None:
        self._hist: list[tuple[int, tuple[np.ndarray, np.ndarray], np.ndarray, float]] = []
        self._bright: float | None = None

    def on_gap(self, t_ns: int, why: str) -> None:
        self._hist = []
        self._bright = None

    def _jump(self, i: int, j: int) -> tuple[float, float]:
        """(χ² jump, non-rigid landmark motion in IODs) between stored samples i and j."""
        _, da, la, iod = self._hist[i]
        _, db, lb, _ = self._hist[j]
        return chi2(da[0], db[0]) + chi2(da[1], db[1]), nonrigid_motion(la, lb, iod)

    def _jn(self, i: int, j: int) -> float:
        jump, r = self._jump(i, j)
        return jump / (J0 + K_MOTION * r)

    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        d = descriptor(obs)
        if d is None:
            return None
        face = obs.face
        assert face is not None
        # A change of the whole picture's brightness (a camera flash, a lamp, a screen lighting up)
        # changes the face too: start afresh instead of comparing across it. A swap that drops out
        # changes the face only.
        bright = float(gray_frame(obs)[::8, ::8].mean())
        light_jump = self._bright is not None and abs(bright - self._bright) > LIGHT_JUMP
        self._bright = bright
        if light_jump:
            self._hist = []
        lm = face.landmarks[:468, :2].astype(np.float64)
        self._hist.append((t_ns, d, lm, wf.face_frame(face).iod))
        if len(self._hist) > MAX_RUN + 2:
            self._hist.pop(0)
        out: dict = {}
        if len(self._hist) >= 2:
            jump, r = self._jump(-2, -1)
            out.update(jn=jump / (J0 + K_MOTION * r), j=jump, r=r)
        # A→B→A: samples a+1 .. n-2 all far from A = sample a, the newest sample back near A. The
        # return B→A is itself a jump, so only look when the newest step jumped.
        n = len(self._hist)
        for a in (range(n - 3, -1, -1) if out.get("jn", 0.0) > JUMP_T else ()):
            run = n - 2 - a
            if run > MAX_RUN:
                break
            if self._jn(a, n - 1) < RETURN_T and all(self._jn(a, k) > JUMP_T for k in range(a + 1, n - 1)):
                out["event_run_s"] = (self._hist[n - 1][0] - self._hist[a][0]) / 1e9
                out["event_samples"] = run
                break
        return out

    def summarise(self, samples, t0, t1, quality) -> Evidence | None:
        jn = [m["jn"] for _, m in samples if "jn" in m]
        events = [m for _, m in samples if "event_samples" in m]
        if len(jn) < 3 and not events:
            return None
        f_logj = math.log(float(np.median(jn)) + 1e-3) if jn else float("nan")
        f_jmax = float(np.max(jn)) if jn else float("nan")
        z = wf.tail_z(f_logj, REF_LOGJ) if jn else float("nan")
        llr = wf.gauss_llr(z) if jn else 0.0
        details = {"f_logj": f_logj, "f_jmax": f_jmax, "z": z, "events": len(events), "n": len(samples),
                   "f_jraw": float(np.median([m["j"] for _, m in samples if "j" in m])) if jn else float("nan"),
                   "f_r": float(np.median([m["r"] for _, m in samples if "r" in m])) if jn else float("nan")}
        if events:
            e = events[0]
            llr = wf.LLR_MAX
            details["event_run_s"] = e["event_run_s"]
            reason = (f"The face briefly changed to a different-looking face for about {e['event_run_s']:.1f} s and "
                      "then changed back, which happens when a face-swap tool loses track for a moment. "
                      "Ask the candidate to pass a hand slowly in front of their face.")
            code = "appearance_jump"
        elif llr > 0:
            reason = (f"The face's skin texture and colour change from frame to frame "
                      f"{math.exp(f_logj - REF_LOGJ[1]):.1f}× more than its movement explains, as generated "
                      "faces often do. Ask the candidate to hold still for a moment, then turn their head slowly.")
            code = "texture_boiling"
        else:
            reason = "The face's appearance changes smoothly with its movement, as a real face does."
            code = "consistent"
        return self.evidence(t0, t1, llr, quality, reason, code, details)

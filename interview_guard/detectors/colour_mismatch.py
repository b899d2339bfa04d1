"""Colour and lighting mismatch between the face and the neck / forehead band (S7).

Why. A swapped face is rendered from another person's photos and colour-matched to the frame
(DeepFaceLive's RCT, Poisson blending) or not at all (inswapper), so its skin colour can sit
off the neck and hairline that stay real; and when the light or the head moves, the pasted
face follows the real skin with a lag or a weaker response.

What is measured, at ≤ ~11 Hz of stream time, on the RGB frame: the mean colour of the two
cheek patches (mesh 50, 280, half-side 0.18·IOD), of the neck below the chin (152 + 0.35·IOD
down, half-side 0.15·IOD: outside every swapper's blend mask) and of the forehead band just
below the hairline (mesh 10, 0.12·IOD down, half-side 0.15·IOD): the mean CIELAB colour
(L 0–100) of the pixels in a generic skin-colour range, so clothing, hair and the wall behind do
not count (a patch with < 40 % skin is skipped; the range is generic, not the face's own colour,
so an off-colour face keeps its neck).

* static: ΔE76 between cheeks and neck (``f_de_neck``), the chroma-only part (``f_dc_neck``:
  √(Δa² + Δb²), as shading changes mostly L: this one feeds the llr), and ΔE cheeks vs forehead
  band (``f_de_fore``, reported only: the band lies inside most swappers' masks and under
  fringes, and its genuine spread is wide); window feature = median over ~1.5 s.
* dynamic: over the last ~10 s, the correlation of frame-to-frame changes of cheek and neck
  luminance (``f_corr``); only when the neck luminance actually varied (std of its changes ≥
  ``MIN_DYN_STD`` L units), otherwise there is nothing to follow.

llr: one-sided Gaussian model on the z-score (``tail_z``: genuine p5/median/p95) of the chroma
difference against genuine footage, and — when the light varied — of the (low) correlation;
the fake model is "one of the two is off" (``mixture_llr``).
"""

from __future__ import annotations

import math

import numpy as np

from interview_guard.core.types import Evidence, Observation
from interview_guard.detectors import _weightfree as wf
from interview_guard.detectors.registry import register

# Genuine reference statistics, measured on the corpus ``video_real`` clips only (no fake labels):
#   .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
# (p5, median, p95) of the window features over all real windows.
REF_DC = (2.46, 6.51, 11.65)      # chroma difference cheeks vs neck
REF_CORR = (-0.66, -0.06, 0.48)   # correlation of cheek and neck luminance changes (weak at 10 Hz)
MIN_DYN_STD = 0.8                 # L units: neck luminance must vary this much frame to frame
DYN_SPAN_S = 10.0

CHEEKS = (50, 280)
CHEEK_HALF = 0.18
NECK_DOWN, NECK_HALF = 0.35, 0.15
FORE_DOWN, FORE_HALF = 0.12, 0.15


def mean_lab(obs: Observation, centre: np.ndarray, half: float) -> np.ndarray | None:
    """Mean CIELAB colour of the skin-coloured pixels of a frame patch (None: not enough skin)."""
    hit = wf.skin_lab_at(obs, centre, half)
    return None if hit is None else hit[0]


@register
class ColourMismatchDetector(wf.WeightFreeDetector):
    id = "colour_mismatch"
    version = "1"
    description = ("Compares the colour of the face with the neck and forehead band, and how the face's "
                   "brightness follows the neck when the light or the head moves.")

    def reset_state(self) -> None:
        self._series: list[tuple[int, float, float]] = []    # (t_ns, L cheeks, L neck)

    def on_gap(self, t_ns: int, why: str) -> None:
        if why in ("no_face", "turned", "small", "several", "new_track"):
            self._series = []

    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        face = obs.face
        assert face is not None
        ff = wf.face_frame(face)
        lm = face.landmarks[:, :2].astype(np.float64)
        iod = ff.iod
        cheeks = [mean_lab(obs, lm[k], CHEEK_HALF * iod) for k in CHEEKS]
        cheeks = [c for c in cheeks if c is not None]
        neck = mean_lab(obs, lm[152] + ff.down * NECK_DOWN * iod, NECK_HALF * iod)
        fore = mean_lab(obs, lm[10] + ff.down * FORE_DOWN * iod, FORE_HALF * iod)
        if not cheeks or neck is None:
            return None
        c = np.mean(cheeks, axis=0)
        d = c - neck
        out = {"de_neck": float(np.linalg.norm(d)), "dc_neck": float(np.hypot(d[1], d[2])), "dl_neck": float(d[0]),
               "l_face": float(c[0]), "l_neck": float(neck[0])}
        if fore is not None:
            out["de_fore"] = float(np.linalg.norm(c - fore))
        self._series.append((t_ns, float(c[0]), float(neck[0])))
        cut = t_ns - int(DYN_SPAN_S * 1e9)
        while self._series and self._series[0][0] < cut:
            self._series.pop(0)
        return out

    def _dynamic(self) -> tuple[float, float]:
        """(correlation of cheek vs neck luminance changes, std of neck changes) over the last ~10 s."""
        if len(self._series) < 12:
            return float("nan"), 0.0
        a = np.array(self._series)
        df, dn = np.diff(a[:, 1]), np.diff(a[:, 2])
        sn = float(dn.std())
        if sn < 1e-6 or df.std() < 1e-6:
            return float("nan"), sn
        return float(np.corrcoef(df, dn)[0, 1]), sn

    def summarise(self, samples, t0, t1, quality) -> Evidence | None:
        med = {k: float(np.median([m[k] for _, m in samples if k in m])) if any(k in m for _, m in samples)
               else float("nan") for k in ("de_neck", "dc_neck", "dl_neck", "de_fore")}
        z = wf.tail_z(med["dc_neck"], REF_DC)
        corr, dyn_std = self._dynamic()
        z_corr = float("nan")
        dyn_used = math.isfinite(corr) and dyn_std >= MIN_DYN_STD
        if dyn_used:
            z_corr = -wf.tail_z(corr, REF_CORR)        # low correlation is the suspicious side
        llr = wf.mixture_llr([z, z_corr])
        details = {"f_de_neck": med["de_neck"], "f_dc_neck": med["dc_neck"], "f_dl_neck": med["dl_neck"],
                   "f_de_fore": med["de_fore"], "f_corr": corr if dyn_used else float("nan"),
                   "dyn_std": dyn_std, "z": z, "z_corr": z_corr, "n": len(samples)}
        if llr > 0 and dyn_used and z_corr > z:
            reason = (f"When the light or the head moved, the face's brightness did not follow the neck the way real "
                      f"skin does (correlation {corr:.2f}), as a pasted-in face can lag. "
                      "Ask the candidate to move a lamp or turn towards a window and watch the face and neck together.")
            code = "lighting_not_followed"
        elif llr > 0:
            reason = (f"The face's colour differs from the neck more than usual (colour difference "
                      f"ΔE {med['dc_neck']:.0f}, typically about {REF_DC[1]:.0f}), as a pasted-in face can. "
                      "Makeup or a shadow can also do this: ask the candidate to raise their chin into the light.")
            code = "face_neck_colour"
        else:
            reason = (f"The face's colour matches the neck as usual (colour difference ΔE {med['dc_neck']:.0f}).")
            code = "consistent"
        return self.evidence(t0, t1, llr, quality, reason, code, details)

"""Texture, colour and flicker concentrated on the paste-back band (S5).

Why. Real-time swappers generate the face in a 128-px ArcFace-aligned crop and blend it back
through a fixed soft mask: Deep-Live-Cam a circle of radius ≈ 56 px feathered with σ ≈ 12,
roop/InsightFace an eroded rounded square, DeepFaceLive an eroded and blurred face mask. The
blend band runs across the jaw line, temples and upper forehead. There the picture is a
mixture of two images, which shows as a step in texture energy and colour and as flicker over
time that is concentrated at those radii; a real face has no reason to change exactly there.

What is measured, at ≤ ~11 Hz of stream time: the frame is similarity-warped into InsightFace's
128-px template space (padded to 192 × 192, ``_weightfree.insight_crop``). Three rings around
the template centre (radii 36–44 "inside", 52–60 "band", 68–76 "outside", in 128-px units)
are split into a lower sector (jaw/chin, 30°–150° below the centre) and an upper sector
(forehead/hairline). Per ring and sector: fine-texture energy (edge-robust mean |Laplacian| /
mean grey), mean colour (CIELAB) and which pixels are skin-coloured.

* ``f_tex`` = log E(band) − ½(log E(in) + log E(out)), texture concentrated on the band
  (averaged over the two sectors);
* ``f_col`` = distance between the mean skin chroma (a, b) inside and outside the band, over
  sectors where both sides show ≥ 30 % skin (chin vs neck, forehead vs hairline skin): a
  colour-transferred or uncorrected face changes skin colour across the band;
* ``f_flick`` = log of the band's frame-to-frame colour flicker (median over the window of |Δ| of
  its mean Lab between samples) − ½(log flicker in + log flicker out): a blend mask that jitters
  or is recomputed per frame flickers on the band while the face inside and the real skin outside
  stay steady (exposure changes move all three rings alike).

llr: each window feature gets a z-score against genuine footage (``tail_z``: genuine
p5/median/p95); the fake model is "one of the three is shifted" (``mixture_llr``), one-sided.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.core.types import Evidence, Observation
from interview_guard.detectors import _weightfree as wf
from interview_guard.detectors.registry import register

# Genuine reference statistics, measured on the corpus ``video_real`` clips only (no fake labels):
#   .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
# (p5, median, p95) of each window feature over all real windows.
REF = {
    "tex": (-0.19, 0.25, 1.00),
    "col": (2.48, 5.64, 16.74),
    "flick": (-0.50, 0.00, 0.56),
}
MIN_SKIN = 0.3           # a ring sector counts for the colour step when ≥ 30 % of it is skin-coloured

MARGIN = 32
RINGS = {"in": (36.0, 44.0), "band": (52.0, 60.0), "out": (68.0, 76.0)}
SECTORS = {"lo": (30.0, 150.0), "up": (210.0, 330.0)}   # degrees, 0 = image right, 90 = down


def _masks(step: int = 1) -> dict[tuple[str, str], np.ndarray]:
    """Flat index arrays of each (ring, sector) in the crop, or in the crop downsampled by ``step``."""
    size = (128 + 2 * MARGIN) // step
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    xx, yy = (xx + 0.5) * step, (yy + 0.5) * step
    cx = cy = 64.0 + MARGIN
    r = np.hypot(xx - cx, yy - cy)
    ang = (np.degrees(np.arctan2(yy - cy, xx - cx)) + 360.0) % 360.0
    out = {}
    for rn, (r0, r1) in RINGS.items():
        for sn, (a0, a1) in SECTORS.items():
            m = (r >= r0) & (r < r1) & (ang >= a0) & (ang < a1)
            out[(rn, sn)] = np.flatnonzero(m.ravel())
    return out


_MASKS = _masks()        # constant geometry (index arrays), computed once at import
_MASKS_HALF = _masks(2)  # the same on the half-resolution crop used for colour (Lab is costly)


def _trimmed(v: np.ndarray) -> float:
    k = int(0.8 * v.size)
    return float(np.partition(v, k)[:k].mean()) if k > 0 else float("nan")


@register
class SeamBandDetector(wf.WeightFreeDetector):
    id = "seam_band"
    version = "1"
    measure_phase_s = 0.03
    description = ("Looks for a texture or colour step and flicker on the band where face-swap tools blend the "
                   "generated face into the frame (jaw line, temples, upper forehead).")
    gate_config = wf.GateConfig(max_blockiness=1.6)

    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        hit = wf.insight_crop(obs, MARGIN)
        if hit is None:
            return None
        crop, _ = hit
        grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
        lap = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1)).ravel()
        grey = grey.ravel()
        half = cv2.resize(crop, (crop.shape[1] // 2, crop.shape[0] // 2), interpolation=cv2.INTER_AREA)
        lab = wf.lab_float(half).reshape(-1, 3)
        skin = wf.skin_mask(lab)
        out: dict = {}
        steps = []
        for sn in SECTORS:
            e, c = {}, {}
            for rn in RINGS:
                idx = _MASKS[(rn, sn)]
                e[rn] = _trimmed(lap[idx]) / (float(grey[idx].mean()) + 10.0)
                c[rn] = lab[_MASKS_HALF[(rn, sn)]].mean(0)
            if min(e.values()) <= 0:
                return None
            out[f"tex_{sn}"] = math.log(e["band"]) - 0.5 * (math.log(e["in"]) + math.log(e["out"]))
            # skin colour (a, b) inside vs outside the band, when both sides show skin
            si, so = _MASKS_HALF[("in", sn)], _MASKS_HALF[("out", sn)]
            ki, ko = skin[si], skin[so]
            if ki.mean() >= MIN_SKIN and ko.mean() >= MIN_SKIN:
                steps.append(float(np.linalg.norm(lab[si][ki, 1:].mean(0) - lab[so][ko, 1:].mean(0))))
            for rn in RINGS:
                out[f"lab_{rn}_{sn}"] = c[rn]
        if steps:
            out["col"] = float(np.mean(steps))
        return out

    def summarise(self, samples, t0, t1, quality) -> Evidence | None:
        ms = [m for _, m in samples]
        tex = float(np.median([(m["tex_lo"] + m["tex_up"]) / 2 for m in ms]))
        cols = [m["col"] for m in ms if "col" in m]
        col = float(np.median(cols)) if len(cols) >= 3 else float("nan")
        flick_parts = []
        for sn in SECTORS:
            fl = {}
            for rn in RINGS:
                series = np.array([m[f"lab_{rn}_{sn}"] for m in ms])
                fl[rn] = float(np.median(np.linalg.norm(np.diff(series, axis=0), axis=1))) + 0.05
            flick_parts.append(math.log(fl["band"]) - 0.5 * (math.log(fl["in"]) + math.log(fl["out"])))
        flick = float(np.mean(flick_parts))
        feats = {"tex": tex, "col": col, "flick": flick}
        zs = {k: wf.tail_z(v, REF[k]) for k, v in feats.items()}
        llr = wf.mixture_llr(list(zs.values()))
        z = max((v for v in zs.values() if math.isfinite(v)), default=float("nan"))
        details = {"f_tex": tex, "f_col": col, "f_flick": flick, "z_tex": zs["tex"], "z_col": zs["col"],
                   "z_flick": zs["flick"], "z": z, "n": len(ms)}
        top = max((k for k in zs if math.isfinite(zs[k])), key=lambda k: zs[k], default="tex")
        if llr > 0:
            what = {"tex": "a change in skin texture", "col": "a step in skin colour",
                    "flick": "flickering colour"}[top]
            reason = (f"There is {what} along the jaw line and hairline, where face-swap tools blend a generated "
                      "face into the picture. Ask the candidate to turn their head slowly and to pass a hand "
                      "in front of their face, and watch the edge of the face.")
            code = f"band_{top}"
        else:
            reason = "The jaw line and hairline show no blending band: texture and colour change smoothly there."
            code = "consistent"
        return self.evidence(t0, t1, llr, quality, reason, code, details)

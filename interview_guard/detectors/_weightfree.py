"""Shared pieces of the weight-free face-swap detectors (detection-methods.md §1.3, S1–S8).

Not a detector (the leading underscore keeps the registry from importing it as one). It holds
what the five detectors ``sharpness_mismatch``, ``colour_mismatch``, ``seam_band``,
``identity_flicker`` and ``landmark_jitter`` have in common:

* the **quality gate** (:func:`gate`): abstain on no face, a frozen frame, a small, turned or
  blurred face, several similar-sized faces, and (for texture detectors) heavy codec
  blockiness; temporal features restart when the face jumps (another person, a glitch);
* **decimation by stream time** (:class:`Ticker`): measure at most ~10 times a second and
  emit at most every ~1.5 s, whatever the frame rate; time only from ``window.t_ns``;
* the **llr mapping** (:func:`gauss_llr`): a robust z-score of a window feature against genuine
  reference statistics (median and 1.4826·MAD measured on ``video_real`` clips, stored in each
  module), mapped through a two-class Gaussian model: genuine z ~ N(0, 1), swapped z ~ N(MU_FAKE,
  SD_FAKE) (or its mirror image for two-sided features). MU_FAKE/SD_FAKE are a stated prior
  (a swap moves the feature by a few genuine spreads), not fitted on fake clips; the fusion
  stage re-calibrates (§9.1). The result is clipped to [-1, +2.3] nats as §9.1 asks of passive
  detectors;
* face-relative geometry: a face frame (centre, inter-ocular distance, right/down unit vectors)
  and square patches placed relative to landmarks, the 5-point similarity to the InsightFace
  128-px template (the space real-time swappers paste back from).
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass

import cv2
import numpy as np

from interview_guard.core.types import NS_PER_S, Evidence, FaceObs, Observation
from interview_guard.detectors.contract import Detector, Window
from interview_guard.perception import face_geometry as fg
from interview_guard.perception.crops import gray_frame

# ----------------------------------------------------------------------------- quality gate


@dataclass(frozen=True)
class GateConfig:
    min_face_px: float = 100.0       # FaceObs.size_px (forehead 10 → chin 152)
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 30.0
    min_sharpness: float = 0.8       # face_geometry.sharpness units (a 2-px blur of a sharp face ≈ 0.8);
                                     # lower than face_quality's 1.5, as a soft pasted face is itself a cue
    max_blockiness: float = 0.0      # 0 = not checked; else abstain above (see blockiness())
    second_face_ratio: float = 0.6   # abstain while another face at least this fraction of the main one's
                                     # size is visible: "the largest face" may switch between people


GATE_WORDS = {
    "no_face": "no face is visible",
    "frozen": "the picture is frozen",
    "small": "the face is too small",
    "turned": "the face is turned away",
    "blurred": "the face is too blurred",
    "blocky": "the video is too compressed",
    "several": "several faces are visible",
}


def gate(obs: Observation, cfg: GateConfig) -> str | None:
    """Why this frame cannot be used (a key of GATE_WORDS), or None when it can."""
    face = obs.face
    if face is None:
        return "no_face"
    if obs.frame_diff == 0.0:
        return "frozen"
    if face.size_px < cfg.min_face_px:
        return "small"
    if any(f is not face and f.size_px >= cfg.second_face_ratio * face.size_px for f in obs.faces):
        return "several"
    if abs(face.pose.yaw) > cfg.max_yaw_deg or abs(face.pose.pitch) > cfg.max_pitch_deg:
        return "turned"
    if face.sharpness < cfg.min_sharpness:
        return "blurred"
    if cfg.max_blockiness > 0 and face_blockiness(obs) > cfg.max_blockiness:
        return "blocky"
    return None


def face_blockiness(obs: Observation) -> float:
    """Codec blockiness of the face box: mean |horizontal + vertical step| across the 8-px grid
    divided by the same inside blocks (1 = no block structure; ≳ 1.5 = the codec dominates).
    Memoised per frame in ``obs.cache``."""
    v = obs.cache.get("wf_blockiness")
    if v is not None:
        return v
    g = gray_frame(obs)
    x0, y0, x1, y1 = (int(round(c)) for c in obs.face.bbox)  # type: ignore[union-attr]
    x0, y0 = max(0, x0 - x0 % 8), max(0, y0 - y0 % 8)
    sub = g[y0:y1, x0:x1].astype(np.int16)
    if sub.shape[0] < 24 or sub.shape[1] < 24:
        v = 1.0
    else:
        dx = np.abs(np.diff(sub, axis=1)).astype(np.float32)   # dx[:, j] = step between col j and j+1
        dy = np.abs(np.diff(sub, axis=0)).astype(np.float32)
        bx = np.zeros(dx.shape[1], bool)
        bx[7::8] = True
        by = np.zeros(dy.shape[0], bool)
        by[7::8] = True
        on = dx[:, bx].mean() + dy[by, :].mean()
        off = dx[:, ~bx].mean() + dy[~by, :].mean()
        v = float(on / (off + 1e-3))
    obs.cache["wf_blockiness"] = v
    return v


# ----------------------------------------------------------------------------- time


class Ticker:
    """True at most once per ``period_s`` of stream time. The first due call comes ``phase_s``
    after the first call, so detectors with different phases measure on different frames of a
    30-fps stream instead of all on the same one."""

    def __init__(self, period_s: float, phase_s: float = 0.0) -> None:
        self.period_ns = int(period_s * NS_PER_S)
        self.phase_ns = int(phase_s * NS_PER_S)
        self.first: int | None = None
        self.last: int | None = None

    def due(self, t_ns: int) -> bool:
        if self.first is None:
            self.first = t_ns
        if self.last is None:
            if t_ns - self.first >= self.phase_ns:
                self.last = t_ns
                return True
            return False
        if t_ns - self.last >= self.period_ns or t_ns < self.last:
            self.last = t_ns
            return True
        return False

    def reset(self) -> None:
        self.first = self.last = None


MEASURE_PERIOD_S = 0.09   # measure at ≤ ~11 Hz (10-fps sampling keeps every frame)
MAX_JUMP_IOD_PER_0_1S = 0.75   # a face centre moving more than this per 0.1 s is another face / a glitch
EMIT_PERIOD_S = 1.5       # one Evidence per ~1.5 s of usable face


# ----------------------------------------------------------------------------- llr

LLR_MIN, LLR_MAX = -1.0, 2.3   # §9.1: passive detectors at most 10:1 either way... and e^-1 for "looks real"
MU_FAKE = 2.5                  # prior: a swap shifts the feature by 2.5 genuine spreads
SD_FAKE = 1.5                  # ... and spreads it wider than genuine footage


def robust_z(x: float, median: float, scale: float) -> float:
    return (x - median) / max(scale, 1e-9)


Z95 = 1.6449   # standard normal 95th percentile


def tail_z(x: float, ref: tuple[float, float, float]) -> float:
    """z-score of x against genuine reference percentiles ``ref = (p5, median, p95)``, with a
    separate spread for each tail (genuine features are skewed and heavy-tailed: one robust
    scale would put a twentieth of genuine windows at z > 3). Genuine p95 maps to z = +1.645,
    p5 to −1.645."""
    p5, med, p95 = ref
    if not math.isfinite(x):
        return float("nan")
    if x >= med:
        return (x - med) / max((p95 - med) / Z95, 1e-9)
    return (x - med) / max((med - p5) / Z95, 1e-9)


def gauss_llr(z: float, *, mu: float = MU_FAKE, sd: float = SD_FAKE, two_sided: bool = False,
              clip: bool = True) -> float:
    """log N(z; fake) − log N(z; 0, 1), clipped to [LLR_MIN, LLR_MAX] unless ``clip`` is False.

    One-sided: fake ~ N(mu, sd). Two-sided: fake ~ ½N(−mu, sd) + ½N(mu, sd) (too low or too high).
    One-sided, a z below the genuine median counts as the median (z = 0): the wider fake
    Gaussian would otherwise make a very *typical-looking* value read as fake.
    """
    if not math.isfinite(z):
        return 0.0
    z = max(-50.0, min(50.0, z))
    if not two_sided:
        z = max(0.0, z)
    lg = -0.5 * z * z
    if two_sided:
        a = -0.5 * ((z - mu) / sd) ** 2
        b = -0.5 * ((z + mu) / sd) ** 2
        m = max(a, b)
        lf = m + math.log(0.5 * (math.exp(a - m) + math.exp(b - m))) - math.log(sd)
    else:
        lf = -0.5 * ((z - mu) / sd) ** 2 - math.log(sd)
    return float(min(LLR_MAX, max(LLR_MIN, lf - lg))) if clip else float(lf - lg)


def mixture_llr(zs: list[float], **kw) -> float:
    """llr when a swap shifts *one* of several features (equally likely which): the fake model is
    the mixture, so LR = mean_k LR_k. Unmeasured (NaN) features are left out. Clipped."""
    lls = [gauss_llr(z, clip=False, **kw) for z in zs if math.isfinite(z)]
    if not lls:
        return 0.0
    m = max(lls)
    v = m + math.log(sum(math.exp(x - m) for x in lls) / len(lls))
    return float(min(LLR_MAX, max(LLR_MIN, v)))


# ----------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class FaceFrame:
    """Face-relative axes in image px: ``right`` along the eye line, ``down`` perpendicular."""

    iod: float
    right: np.ndarray
    down: np.ndarray


def face_frame(face: FaceObs) -> FaceFrame:
    lm = face.landmarks
    a, b = lm[fg.LEFT_EYE_OUTER, :2].astype(np.float64), lm[fg.RIGHT_EYE_OUTER, :2].astype(np.float64)
    if a[0] > b[0]:
        a, b = b, a
    v = b - a
    iod = float(np.hypot(*v)) or 1.0
    right = v / iod
    down = np.array([-right[1], right[0]])
    return FaceFrame(iod=iod, right=right, down=down)


def square(img: np.ndarray, centre: np.ndarray, half: float, *, min_inside: float = 0.7) -> np.ndarray | None:
    """The axis-aligned square of half-side ``half`` px around ``centre``, or None when less than
    ``min_inside`` of it lies inside the image (a patch off the frame edge is not measured)."""
    h, w = img.shape[:2]
    cx, cy = float(centre[0]), float(centre[1])
    hs = max(2, int(round(half)))
    x0, y0, x1, y1 = int(round(cx)) - hs, int(round(cy)) - hs, int(round(cx)) + hs, int(round(cy)) + hs
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    if (cx1 - cx0) * (cy1 - cy0) < min_inside * (x1 - x0) * (y1 - y0):
        return None
    return img[cy0:cy1, cx0:cx1]


# InsightFace's 128-px template: the 112-px ArcFace template shifted by +8 px in x (no scaling);
# Deep-Live-Cam's paste-back ellipse is a circle of r = 0.44·128 ≈ 56 px around (64, 64).
ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                        [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float64)
INSIGHT_128 = ARCFACE_112 + np.array([8.0, 0.0])


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (Umeyama, no reflection) mapping (N,2) ``src`` onto ``dst``: (2, 3)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sgn = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sgn[1, 1] = -1
    r = u @ sgn @ vt
    var = (s ** 2).sum() / len(src)
    scale = float((sig * np.diag(sgn)).sum() / var) if var > 0 else 1.0
    t = md - scale * r @ ms
    return np.hstack([scale * r, t[:, None]])


def insight_crop(obs: Observation, margin: int = 32, *, gray: bool = False) -> tuple[np.ndarray, np.ndarray] | None:
    """The primary face warped into InsightFace's 128-px aligned space, padded by ``margin`` px on
    every side (so (64, 64) of the 128 space is at (64 + margin, 64 + margin)). Returns
    (crop, M) with M the 2x3 image→crop similarity. Memoised per frame."""
    face = obs.face
    if face is None:
        return None
    key = ("wf_insight", margin, gray)
    hit = obs.cache.get(key)
    if hit is not None:
        return hit
    m = obs.cache.get(("wf_insight_m", margin))
    if m is None:
        m = similarity(fg.five_points(face.landmarks), INSIGHT_128 + margin)
        obs.cache[("wf_insight_m", margin)] = m
    size = 128 + 2 * margin
    src = gray_frame(obs) if gray else obs.frame.image
    crop = cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    obs.cache[key] = (crop, m)
    return crop, m


def fmt_ratio(log_ratio: float) -> str:
    """'2.1×' for a natural-log ratio."""
    return f"{math.exp(abs(log_ratio)):.1f}×"


# ----------------------------------------------------------------------------- base class


class WeightFreeDetector(Detector):
    """Gate → measure (≤ ~11 Hz of stream time) → summarise every ~1.5 s into one Evidence.

    Subclasses implement :meth:`measure` (one frame → a dict of numbers, or None) and
    :meth:`summarise` (the window's samples → Evidence or None), and may keep per-call state in
    :meth:`reset_state`. :meth:`on_gap` tells them a frame was unusable, so temporal features do
    not difference across a gap.
    """

    modality = "video"
    needs = frozenset({"face"})
    kind = "risk"
    gate_config = GateConfig()
    measure_period_s = MEASURE_PERIOD_S
    measure_phase_s = 0.0            # spread the five detectors' work over consecutive 30-fps frames
    emit_period_s = EMIT_PERIOD_S
    min_samples = 5

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._tick = Ticker(self.measure_period_s, self.measure_phase_s)
        self._samples: list[tuple[int, dict]] = []
        self._win_start: int | None = None
        self._n_due = 0
        self._gated: dict[str, int] = {}
        self._sizes: list[float] = []
        self._track: tuple[int, np.ndarray, float] | None = None
        self.reset_state()

    def reset_state(self) -> None:  # pragma: no cover - overridden when needed
        pass

    def on_gap(self, t_ns: int, why: str) -> None:  # pragma: no cover - overridden when needed
        pass

    @abc.abstractmethod
    def measure(self, obs: Observation, t_ns: int) -> dict | None:
        """One sampled frame's raw measurements (None: nothing measurable on it)."""

    @abc.abstractmethod
    def summarise(self, samples: list[tuple[int, dict]], t0: int, t1: int, quality: float) -> Evidence | None:
        """The window's evidence from its samples (None: abstain)."""

    def _same_track(self, obs: Observation, t_ns: int) -> bool:
        """False when the face jumped further than a head can move since the last measurement
        (another person became the largest face, or the tracker glitched): temporal features must
        not difference across that."""
        face = obs.face
        assert face is not None
        c = np.asarray(face.center)
        prev, self._track = self._track, (t_ns, c, face_frame(face).iod)
        if prev is None:
            return True
        t0, c0, iod0 = prev
        dt = max(0.1, (t_ns - t0) / NS_PER_S)
        return float(np.hypot(*(c - c0))) <= MAX_JUMP_IOD_PER_0_1S * iod0 * dt / 0.1

    def process(self, window: Window) -> Evidence | None:
        obs = window.observation
        if obs is None:
            return None
        t = window.t_ns
        if self._tick.first is not None and t < (self._tick.last if self._tick.last is not None
                                                 else self._tick.first):   # time went backwards: a new stream
            self.reset()
        if not self._tick.due(t):
            return None
        self._n_due += 1
        if self._win_start is None:
            self._win_start = t
        why = gate(obs, self.gate_config)
        if why is None and not self._same_track(obs, t):
            self.on_gap(t, "new_track")
        if why is None:
            m = self.measure(obs, t)
            if m is None:
                why = "unmeasurable"
                self.on_gap(t, why)
            else:
                self._samples.append((t, m))
                self._sizes.append(obs.face.size_px)  # type: ignore[union-attr]
        else:
            self.on_gap(t, why)
        if why is not None:
            self._gated[why] = self._gated.get(why, 0) + 1
        if t - self._win_start < self.emit_period_s * NS_PER_S:
            return None
        samples, n_due, t0 = self._samples, self._n_due, self._win_start
        sizes = self._sizes
        self._samples, self._sizes, self._n_due, self._win_start, self._gated = [], [], 0, None, {}
        if len(samples) < self.min_samples:
            return None
        size_q = min(1.0, float(np.median(sizes)) / (1.5 * self.gate_config.min_face_px))
        quality = float(min(1.0, len(samples) / max(1, n_due)) * size_q)
        return self.summarise(samples, samples[0][0], t, quality)

    def evidence(self, t0: int, t1: int, llr: float, quality: float, reason: str, code: str,
                 details: dict) -> Evidence:
        return Evidence(detector=self.id, t_start_ns=int(t0), t_end_ns=int(t1), llr=float(llr),
                        quality=float(max(0.0, min(1.0, quality))), reason=reason, kind=self.kind, code=code,
                        details={k: _clean(v) for k, v in details.items()})


def _clean(v):
    """Details are JSON numbers: floats rounded later by Evidence.to_json, NaN/inf → None."""
    if isinstance(v, (float, np.floating)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    return v


# ----------------------------------------------------------------------------- skin


SKIN_L = (20.0, 97.0)          # CIELAB L
SKIN_CHROMA = (6.0, 55.0)      # √(a² + b²)
SKIN_HUE_DEG = (10.0, 85.0)    # atan2(b, a): reds/oranges/yellows, every skin tone under usual white balance


def skin_lab(patch_rgb: np.ndarray | None, *, min_fraction: float = 0.4) -> tuple[np.ndarray, np.ndarray] | None:
    """(mean Lab of the skin-coloured pixels, boolean skin mask) of an RGB patch, or None when fewer
    than ``min_fraction`` of its pixels look like skin (clothing, background, a cap, blue light).

    A generic skin-colour range (not the candidate's own face colour), so a face whose colour is
    off does not remove the neck it should be compared with."""
    if patch_rgb is None or patch_rgb.size == 0:
        return None
    step = max(1, min(patch_rgb.shape[:2]) // 16)                # ~16 x 16 samples are plenty for a mean
    lab = lab_float(np.ascontiguousarray(patch_rgb[::step, ::step]))
    m = skin_mask(lab)
    if m.mean() < min_fraction:
        return None
    return lab[m].mean(0).astype(np.float64), m


def lab_float(rgb_u8: np.ndarray) -> np.ndarray:
    """CIELAB of a uint8 RGB image as float32 (L 0–100, a/b centred on 0), through OpenCV's fast
    8-bit path (its float path is several times slower)."""
    lab = cv2.cvtColor(rgb_u8, cv2.COLOR_RGB2Lab).astype(np.float32)
    lab[..., 0] *= 100.0 / 255.0
    lab[..., 1:] -= 128.0
    return lab


def skin_mask(lab: np.ndarray) -> np.ndarray:
    """Boolean mask of skin-coloured pixels of a (..., 3) float CIELAB array (L 0–100)."""
    L, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    c2 = a * a + b * b
    # hue = atan2(b, a) within (10°, 85°) ⇔ a > 0 and tan(10°)·a < b < tan(85°)·a
    return ((L > SKIN_L[0]) & (L < SKIN_L[1]) & (c2 > SKIN_CHROMA[0] ** 2) & (c2 < SKIN_CHROMA[1] ** 2)
            & (a > 0) & (b > _TAN_LO * a) & (b < _TAN_HI * a))


_TAN_LO = math.tan(math.radians(SKIN_HUE_DEG[0]))
_TAN_HI = math.tan(math.radians(SKIN_HUE_DEG[1]))


def skin_lab_at(obs: Observation, centre: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray] | None:
    """``skin_lab`` of the frame's square patch at ``centre``, memoised per frame (sharpness and
    colour detectors test the same cheek and neck patches)."""
    key = ("wf_skin", int(round(float(centre[0]))), int(round(float(centre[1]))), int(round(half * 4)))
    if key in obs.cache:
        return obs.cache[key]
    hit = skin_lab(square(obs.frame.image, centre, half))
    obs.cache[key] = hit
    return hit

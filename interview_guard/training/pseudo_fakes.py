"""Seeded pseudo-fakes made from real faces only (no generative weights).

Two families, both ending in a blend ``out = α·source + (1−α)·frame``:

* **Self-blended images (SBI)** (Shiohara & Yamasaki 2022): the source is a transformed copy of
  the same frame (colour/HSV/brightness jitter, down-and-up scaling or sharpening, a small shift
  and scale), blended through a jittered, blurred landmark hull or a swapper mask.
* **Swapper-like fakes** that follow the observable pipeline of real-time swappers
  (detection-methods §1.1, §10.1): the face is warped into the 128-px InsightFace/ArcFace crop
  (the generator bottleneck), given "generator" appearance (smoothing, colour mismatch, an
  other person's face = transplant, GFPGAN-like over-sharpening = "enhanced"), warped back
  bilinearly and pasted through

  - the Deep-Live-Cam ellipse (radius 0.44·128, Gaussian 31×31, σ = 12, in aligned space),
  - the InsightFace eroded square (erode max(size/10, 10), blur 2·max(size/20, 5)+1),
  - the FaceFusion box (blur 0.3), or a landmark hull,

  optionally with **stale landmarks** (the paste-back transform of a frame 1–4 frames earlier,
  or a perturbed one for stills).

Then **call degradations** (``degrade_segment``) are applied identically to the real segment and
its fake: downscale, low light, sensor noise, and H.264 / VP8 at 300 kbps–1.5 Mbps through PyAV
(or JPEG), so compression cannot be a shortcut.

Everything takes a ``numpy.random.Generator``; the same seed gives the same bytes (codecs run
single-threaded). Frames are (H, W, 3) uint8 RGB; landmarks (478, 3) float32 px.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import cv2
import numpy as np

from interview_guard.perception import face_geometry as fg

# InsightFace's 128-px crop: the 112-px ArcFace template shifted by +8 px in x.
_INSIGHT_128 = (fg._ARCFACE_112 + np.array([8.0, 0.0], np.float32)).astype(np.float32)

# The model's input: ``aligned_crop(frame, landmarks, MODEL_INPUT_SIZE, scale=MODEL_CROP_SCALE)``.
MODEL_INPUT_SIZE = 128
MODEL_CROP_SCALE = 0.75

FAKE_KINDS = ("sbi", "swap_self", "swap_donor", "stale", "enhanced")
FAKE_WEIGHTS = (0.35, 0.18, 0.2, 0.12, 0.15)
MASK_KINDS = ("hull", "dlc_ellipse", "insight_square", "ff_box")


# ---------------------------------------------------------------------------------------------
# geometry


def insight_matrix(lm: np.ndarray) -> np.ndarray:
    """2x3 similarity taking the frame to InsightFace's 128-px aligned crop."""
    m, _ = cv2.estimateAffinePartial2D(fg.five_points(lm), _INSIGHT_128, method=cv2.LMEDS)
    if m is None:
        raise ValueError("degenerate landmarks")
    return m.astype(np.float64)


def iod(lm: np.ndarray) -> float:
    return float(np.linalg.norm(lm[fg.IRIS_LEFT, :2] - lm[fg.IRIS_RIGHT, :2])) or 1.0


def perturb_matrix(m: np.ndarray, rng: np.random.Generator, *, shift: float, rot_deg: float,
                   scale: float) -> np.ndarray:
    """Compose an aligned-space similarity perturbation (about the crop centre) with ``m``."""
    a = np.deg2rad(rng.uniform(-rot_deg, rot_deg))
    s = 1.0 + rng.uniform(-scale, scale)
    t = rng.uniform(-shift, shift, 2) * 128
    c = np.array([64.0, 64.0])
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) * s
    p = np.eye(3)
    p[:2, :2] = r
    p[:2, 2] = c - r @ c + t
    m3 = np.vstack([m, [0, 0, 1]])
    return (p @ m3)[:2]


def warp_back(crop: np.ndarray, m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    inv = cv2.invertAffineTransform(m)
    return cv2.warpAffine(crop, inv, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


# ---------------------------------------------------------------------------------------------
# masks (float32 (H, W) in [0, 1], frame space)


def mask_dlc_ellipse(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    a = np.zeros((128, 128), np.float32)
    cv2.circle(a, (64, 64), int(0.44 * 128), 1.0, -1, lineType=cv2.LINE_AA)
    a = cv2.GaussianBlur(a, (31, 31), 12)
    return np.clip(warp_back(a, m, shape), 0, 1)


def mask_insight_square(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    white = np.full((128, 128), 255.0, np.float32)
    inv = cv2.invertAffineTransform(m)
    w = cv2.warpAffine(white, inv, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0.0)
    w[w > 20] = 255
    ys, xs = np.where(w == 255)
    if len(ys) == 0:
        return np.zeros(shape, np.float32)
    size = int(np.sqrt((ys.max() - ys.min()) * (xs.max() - xs.min())))
    k = max(size // 10, 10)
    w = cv2.erode(w, np.ones((k, k), np.uint8), iterations=1)
    k2 = max(size // 20, 5)
    w = cv2.GaussianBlur(w, (2 * k2 + 1, 2 * k2 + 1), 0)
    return np.clip(w / 255.0, 0, 1).astype(np.float32)


def mask_ff_box(m: np.ndarray, shape: tuple[int, int], blur: float = 0.3) -> np.ndarray:
    size = 128
    blur_amount = int(size * 0.5 * blur)
    area = max(blur_amount // 2, 1)
    a = np.ones((size, size), np.float32)
    a[:area, :] = 0
    a[-area:, :] = 0
    a[:, :area] = 0
    a[:, -area:] = 0
    a = cv2.GaussianBlur(a, (0, 0), blur_amount * 0.25)
    return np.clip(warp_back(a, m, shape), 0, 1)


def mask_hull(lm: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """SBI-style mask: a jittered landmark hull, blurred, eroded by thresholding, blurred again."""
    d = iod(lm)
    variant = rng.integers(4)
    if variant == 0:
        pts = lm[list(fg.FACE_OVAL), :2]
    elif variant == 1:
        pts = lm[:468, :2]
    elif variant == 2:   # shrink the oval towards the nose (inner-face hull)
        c = lm[fg.NOSE_TIP, :2]
        pts = c + (lm[list(fg.FACE_OVAL), :2] - c) * rng.uniform(0.8, 0.95)
    else:                # lower face: below the eyebrows
        oval = lm[list(fg.FACE_OVAL), :2]
        top = lm[[70, 300], 1].mean()
        pts = np.vstack([oval[oval[:, 1] >= top], lm[[70, 300], :2]])
    pts = pts + rng.normal(0, 0.04 * d, pts.shape)        # elastic-ish boundary jitter
    hull = cv2.convexHull(pts.astype(np.float32)).astype(np.int32)
    a = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(a, hull, 1.0, lineType=cv2.LINE_AA)
    s = d / 60.0                                           # kernels relative to a ~60 px IOD face
    k1 = int(rng.integers(2, 12) * s) * 2 + 1
    a = cv2.GaussianBlur(a, (k1, k1), 0)
    a[a < 1] = 0
    k2 = int(rng.integers(2, 12) * s) * 2 + 1
    a = cv2.GaussianBlur(a, (k2, k2), rng.uniform(2, 20) * s)
    mx = float(a.max())
    return (a / mx).astype(np.float32) if mx > 0 else a


def make_mask(kind: str, lm: np.ndarray, m: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    if kind == "hull":
        return mask_hull(lm, shape, rng)
    if kind == "dlc_ellipse":
        return mask_dlc_ellipse(m, shape)
    if kind == "insight_square":
        return mask_insight_square(m, shape)
    if kind == "ff_box":
        return mask_ff_box(m, shape, blur=float(rng.uniform(0.2, 0.4)))
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------
# appearance transforms


def colour_jitter(img: np.ndarray, p: dict) -> np.ndarray:
    """RGB shift, HSV shift, brightness/contrast; ``p`` from ``sample_colour``."""
    x = img.astype(np.float32)
    x = x + p["rgb"][None, None, :]
    hsv = cv2.cvtColor(np.clip(x, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + p["hue"]) % 180
    hsv[..., 1] = np.clip(hsv[..., 1] * p["sat"], 0, 255)
    hsv[..., 2] = np.clip(hsv[..., 2] * p["val"], 0, 255)
    x = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    x = (x - 128) * p["contrast"] + 128 + p["bright"]
    return np.clip(x, 0, 255).astype(np.uint8)


def sample_colour(rng: np.random.Generator, strength: float = 1.0) -> dict:
    return {
        "rgb": rng.uniform(-20, 20, 3).astype(np.float32) * strength * (rng.random() < 0.5),
        "hue": float(rng.uniform(-6, 6) * strength),
        "sat": float(1 + rng.uniform(-0.3, 0.3) * strength),
        "val": float(1 + rng.uniform(-0.2, 0.2) * strength),
        "contrast": float(1 + rng.uniform(-0.1, 0.1) * strength),
        "bright": float(rng.uniform(-12, 12) * strength),
    }


def resample(img: np.ndarray, f: float) -> np.ndarray:
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(2, int(w / f)), max(2, int(h / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def sharpen(img: np.ndarray, amount: float, sigma: float = 1.0) -> np.ndarray:
    blur = cv2.GaussianBlur(img, (0, 0), sigma)
    return cv2.addWeighted(img, 1 + amount, blur, -amount, 0)


def enhance_like(crop: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """GFPGAN-ish "plastic" face: smoothed skin, strong unsharp mask, at 2x the crop size."""
    up = cv2.resize(crop, (256, 256), interpolation=cv2.INTER_CUBIC)
    up = cv2.bilateralFilter(up, 7, float(rng.uniform(20, 50)), 5)
    up = sharpen(up, float(rng.uniform(0.8, 2.0)), float(rng.uniform(0.8, 1.6)))
    return up


def rct(src: np.ndarray, ref: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """Reinhard colour transfer (DeepFaceLive's RCT): match Lab mean/std of ``src`` to ``ref``."""
    s = cv2.cvtColor(src, cv2.COLOR_RGB2LAB).astype(np.float32)
    r = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB).astype(np.float32)
    if weight is None:
        sm, ss = s.reshape(-1, 3).mean(0), s.reshape(-1, 3).std(0) + 1e-3
        rm, rs = r.reshape(-1, 3).mean(0), r.reshape(-1, 3).std(0) + 1e-3
    else:
        wv = weight.reshape(-1, 1) + 1e-6
        sm = (s.reshape(-1, 3) * wv).sum(0) / wv.sum()
        rm = (r.reshape(-1, 3) * wv).sum(0) / wv.sum()
        ss = np.sqrt(((s.reshape(-1, 3) - sm) ** 2 * wv).sum(0) / wv.sum()) + 1e-3
        rs = np.sqrt(((r.reshape(-1, 3) - rm) ** 2 * wv).sum(0) / wv.sum()) + 1e-3
    out = (s - sm) * (rs / ss) + rm
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


_CENTRE_W = None


def _centre_weight() -> np.ndarray:
    global _CENTRE_W
    if _CENTRE_W is None:
        a = np.zeros((128, 128), np.float32)
        cv2.circle(a, (64, 64), 40, 1.0, -1)
        _CENTRE_W = a
    return _CENTRE_W


# ---------------------------------------------------------------------------------------------
# recipes


@dataclass
class FakeRecipe:
    kind: str
    mask: str
    opacity: float = 1.0
    params: dict = field(default_factory=dict)


def sample_recipe(rng: np.random.Generator, *, have_donor: bool, have_history: bool) -> FakeRecipe:
    w = np.array(FAKE_WEIGHTS, np.float64)
    if not have_donor:
        w[FAKE_KINDS.index("swap_donor")] = 0
    kind = FAKE_KINDS[int(rng.choice(len(FAKE_KINDS), p=w / w.sum()))]
    if kind == "sbi":
        mask = MASK_KINDS[int(rng.choice(4, p=[0.55, 0.15, 0.15, 0.15]))]
    else:
        mask = MASK_KINDS[int(rng.choice(4, p=[0.15, 0.45, 0.25, 0.15]))]
    opacity = float(rng.choice([0.6, 0.8, 1.0, 1.0, 1.0, 1.0]))
    p: dict = {"colour": sample_colour(rng, float(rng.uniform(0.2, 1.0))) if rng.random() < 0.6 else None}
    if kind == "sbi":
        p["geo"] = {"shift": float(rng.uniform(0.005, 0.03)), "rot_deg": 0.0, "scale": float(rng.uniform(0.0, 0.05))}
        p["geo_seed"] = int(rng.integers(2**31))
        r = rng.random()
        p["tex"] = ("down", float(rng.choice([1.5, 2.0, 3.0, 4.0]))) if r < 0.5 else \
            ("sharp", float(rng.uniform(0.2, 0.6))) if r < 0.8 else ("none", 0.0)
        if p["colour"] is None and p["tex"][0] == "none":
            p["colour"] = sample_colour(rng, 0.5)
    else:
        p["smooth"] = float(rng.uniform(0.0, 1.0))            # generator output softness (σ in 128-space)
        p["rct"] = bool(rng.random() < 0.6)
        p["stale_k"] = int(rng.integers(1, 5)) if (kind == "stale" and have_history) else 0
        p["stale_geo"] = {"shift": float(rng.uniform(0.01, 0.04)), "rot_deg": float(rng.uniform(0, 3)),
                          "scale": float(rng.uniform(0, 0.04))}
        p["stale_seed"] = int(rng.integers(2**31))
        p["enhance"] = kind == "enhanced" or (kind != "enhanced" and rng.random() < 0.1)
    return FakeRecipe(kind=kind, mask=mask, opacity=opacity, params=p)


def fake_frame(frame: np.ndarray, lm: np.ndarray, recipe: FakeRecipe, rng: np.random.Generator, *,
               donor: np.ndarray | None = None, stale_lm: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``recipe`` to one frame. Returns (fake frame uint8, blend mask α float32 (H, W)).

    ``rng`` only drives per-frame randomness (mask jitter); call it with a generator seeded the
    same way for every frame of a segment to keep the fake temporally coherent.
    """
    shape = frame.shape[:2]
    p = recipe.params
    m = insight_matrix(lm)
    if recipe.kind == "sbi":
        src = frame
        if p["colour"] is not None:
            src = colour_jitter(src, p["colour"])
        kind, v = p["tex"]
        if kind == "down":
            src = resample(src, v)
        elif kind == "sharp":
            src = sharpen(src, v)
        g = p["geo"]
        mg = perturb_matrix(m, np.random.default_rng(p["geo_seed"]), **g)
        shift = cv2.invertAffineTransform(m)
        # source geometry jitter: move the source face by the aligned-space perturbation
        a3 = np.vstack([shift, [0, 0, 1]]) @ np.vstack([mg, [0, 0, 1]])
        src = cv2.warpAffine(src, a3[:2], (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = make_mask(recipe.mask, lm, m, shape, rng)
    else:
        crop = cv2.warpAffine(frame, m, (128, 128), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if recipe.kind == "swap_donor" and donor is not None:
            gen = donor
            if p["rct"]:
                gen = rct(gen, crop, _centre_weight())
        else:
            gen = crop
        if p["smooth"] > 0.15:
            gen = cv2.GaussianBlur(gen, (0, 0), p["smooth"])
        if p["colour"] is not None:
            gen = colour_jitter(gen, p["colour"])
        m_paste = m
        if recipe.kind == "stale":
            if stale_lm is not None:
                m_paste = insight_matrix(stale_lm)
            else:
                sg = p["stale_geo"]
                m_paste = perturb_matrix(m, np.random.default_rng(p["stale_seed"]), **sg)
        if p["enhance"]:
            up = enhance_like(gen, rng)
            s2 = np.diag([2.0, 2.0])
            m2 = s2 @ m_paste
            src = warp_back(up, m2, shape)
        else:
            src = warp_back(gen, m_paste, shape)
        alpha = make_mask(recipe.mask, lm, m_paste, shape, rng)
    alpha = alpha * recipe.opacity
    out = src.astype(np.float32) * alpha[..., None] + frame.astype(np.float32) * (1 - alpha[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha.astype(np.float32)


# ---------------------------------------------------------------------------------------------
# call degradations (applied identically to a real segment and its fake)


@dataclass
class Degradation:
    scale: float                 # frame downscale factor (<= 1)
    low_light: tuple[float, float] | None   # (gain, gamma)
    noise: float                 # Gaussian sensor noise σ (grey levels)
    codec: str                   # "h264" | "vp8" | "jpeg" | "none"
    bitrate: int                 # bits/s for video codecs
    jpeg_q: int
    seed: int


def sample_degradation(rng: np.random.Generator, face_px: float, frame_wh: tuple[int, int]) -> Degradation:
    w, h = frame_wh
    cap = min(1.0, 960.0 / max(w, h))                  # call resolution: at most ~960 px
    lo = min(1.0, max(90.0 / max(face_px, 1.0), 0.4))  # keep the face >= ~90 px tall
    scale = cap * float(rng.uniform(lo, 1.0)) if rng.random() < 0.6 else cap
    low = (float(rng.uniform(0.45, 0.8)), float(rng.uniform(1.0, 1.6))) if rng.random() < 0.15 else None
    noise = float(rng.uniform(1.0, 5.0)) if (rng.random() < 0.3 or low) else 0.0
    r = rng.random()
    codec = "h264" if r < 0.5 else "vp8" if r < 0.72 else "jpeg" if r < 0.9 else "none"
    bitrate = int(np.exp(rng.uniform(np.log(300e3), np.log(1.5e6))))
    return Degradation(scale=scale, low_light=low, noise=noise, codec=codec, bitrate=bitrate,
                       jpeg_q=int(rng.integers(45, 96)), seed=int(rng.integers(2**31)))


def _even_size(w: int, h: int, s: float) -> tuple[int, int]:
    return max(16, int(w * s) // 2 * 2), max(16, int(h * s) // 2 * 2)


def codec_roundtrip(frames: list[np.ndarray], codec: str, bitrate: int, fps: int = 30) -> list[np.ndarray]:
    """Encode frames with libx264 (zerolatency) or libvpx (VP8, realtime) at ``bitrate`` and decode."""
    import av

    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    fmt, name = ("mp4", "libx264") if codec == "h264" else ("webm", "libvpx")
    with av.open(buf, "w", format=fmt) as c:
        st = c.add_stream(name, rate=fps)
        st.width, st.height, st.pix_fmt = w, h, "yuv420p"
        st.bit_rate = int(bitrate)
        st.codec_context.thread_count = 1
        if name == "libx264":
            st.options = {"preset": "veryfast", "tune": "zerolatency", "threads": "1"}
        else:
            # realtime mode with a *negative* cpu-used: fixed speed 8. A positive value lets libvpx pick its
            # speed from the wall-clock encode time, which makes the output depend on machine load.
            st.options = {"deadline": "realtime", "cpu-used": "-8", "lag-in-frames": "0", "threads": "1"}
        for f in frames:
            for pkt in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(pkt)
        for pkt in st.encode():
            c.mux(pkt)
    buf.seek(0)
    out = []
    with av.open(buf, "r") as c:
        vs = c.streams.video[0]
        vs.codec_context.thread_count = 1
        for fr in c.decode(vs):
            out.append(fr.to_ndarray(format="rgb24"))
    if len(out) != len(frames):
        raise RuntimeError(f"codec round trip returned {len(out)} of {len(frames)} frames")
    return out


def degrade_segment(frames: list[np.ndarray], d: Degradation) -> list[np.ndarray]:
    """Resize, darken, add noise, then compress a segment. Deterministic for a given ``d``."""
    h, w = frames[0].shape[:2]
    nw, nh = _even_size(w, h, d.scale)
    rng = np.random.default_rng(d.seed)
    lut = None
    if d.low_light:
        gain, gamma = d.low_light
        lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma * gain + 0.5, 0, 255).astype(np.uint8)
    out = []
    for f in frames:
        x = cv2.resize(f, (nw, nh), interpolation=cv2.INTER_AREA) if (nw, nh) != (w, h) else f
        if lut is not None:
            x = cv2.LUT(x, lut)
        if d.noise:
            y = x.astype(np.float32) + rng.standard_normal(x.shape, dtype=np.float32) * np.float32(d.noise)
            x = np.clip(y + 0.5, 0, 255).astype(np.uint8)
        out.append(np.ascontiguousarray(x))
    if d.codec in ("h264", "vp8"):
        out = codec_roundtrip(out, d.codec, d.bitrate)
    elif d.codec == "jpeg":
        enc = [cv2.imencode(".jpg", cv2.cvtColor(x, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, d.jpeg_q])[1]
               for x in out]
        out = [cv2.cvtColor(cv2.imdecode(e, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB) for e in enc]
    return out


def frame_scale(frames_in: list[np.ndarray], frames_out: list[np.ndarray]) -> tuple[float, float]:
    """(sx, sy) that map landmark px of the input frames to the degraded frames."""
    h0, w0 = frames_in[0].shape[:2]
    h1, w1 = frames_out[0].shape[:2]
    return w1 / w0, h1 / h0

"""Constructed face-swap-like inputs where the answer is known, for the weight-free detectors.

Built on the public-domain astronaut portrait and its real MediaPipe mesh (``synthetic.py``).
The frame is enlarged 1.5× and cropped to 512 × 576 around the head (face ≈ 158 px
forehead→chin, above the detectors' 100-px gate)
and given a neck of real skin: her neck is hidden by a black turtleneck, so a band of her own
cheek skin is mirrored-tiled under the chin (the weight-free detectors compare the face with
skin around it). Every frame gets fresh sensor noise and a slow sideways drift, as a live
camera would (added before the swap: a swapper replaces the camera's noise with its own
rendering).

Swaps follow Deep-Live-Cam's paste-back (detection-methods.md §1.1): the face is warped into
InsightFace's 128-px aligned crop (the generator bottleneck), optionally altered (blurred,
unsharp-masked, colour-shifted, replaced), warped back and alpha-blended through a circle of
radius 56 px feathered with σ = 12 px in that aligned space.
"""

from __future__ import annotations

import cv2
import numpy as np

from interview_guard.core.types import NS_PER_S, Observation, VideoFrame
from interview_guard.detectors import _weightfree as wf
from interview_guard.perception import face_geometry as fg
from tests.unit.synthetic import astronaut, face_mesh, make_face

SCALE = 1.5


def base_scene() -> tuple[np.ndarray, np.ndarray]:
    """(frame (576, 512, 3) uint8 RGB, mesh (478, 3) px): the enlarged astronaut with a skin neck."""
    img = cv2.resize(astronaut(), None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
    lm = face_mesh().astype(np.float32).copy()
    lm[:, :2] *= SCALE
    lm[:, 2] *= SCALE
    iod = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    chin = lm[fg.CHIN, :2]
    # a patch of cheek skin, mirrored and tiled into a neck under the chin
    cx, cy = (int(v) for v in lm[50, :2])
    h = int(0.16 * iod)
    skin = img[cy - h:cy + h, cx - h:cx + h]
    tile = np.vstack([np.hstack([skin, skin[:, ::-1]]), np.hstack([skin[::-1], skin[::-1, ::-1]])])
    x0, x1 = int(chin[0] - 0.55 * iod), int(chin[0] + 0.55 * iod)
    y0, y1 = int(chin[1] + 0.08 * iod), int(chin[1] + 1.1 * iod)
    reps = (-(-(y1 - y0) // tile.shape[0]), -(-(x1 - x0) // tile.shape[1]), 1)
    img[y0:y1, x0:x1] = np.tile(tile, reps)[: y1 - y0, : x1 - x0]
    # keep the head-and-shoulders part (fewer pixels, faster tests): 512 x 576 around the face
    cx0, cy0 = int(chin[0]) - 256, 0
    img = img[cy0:cy0 + 576, cx0:cx0 + 512]
    lm[:, 0] -= cx0
    lm[:, 1] -= cy0
    return np.ascontiguousarray(img), lm


def dlc_mask(lm: np.ndarray, shape: tuple[int, ...], offset: tuple[float, float] = (0.0, 0.0),
             radius: float = 56.0) -> tuple[np.ndarray, np.ndarray]:
    """(alpha (H, W) float32 in [0, 1], 2x3 image→128-space similarity) of Deep-Live-Cam's paste-back.
    ``offset``/``radius`` move/resize the circle in the 128-px space (a jittering mask)."""
    m = wf.similarity(fg.five_points(lm), wf.INSIGHT_128)
    circle = np.zeros((512, 512), np.float32)       # drawn at 4x for sub-pixel offsets, then reduced
    cv2.circle(circle, (int(round(4 * (64 + offset[0]))), int(round(4 * (64 + offset[1])))), int(round(4 * radius)),
               1.0, -1)
    circle = cv2.resize(circle, (128, 128), interpolation=cv2.INTER_AREA)
    circle = cv2.GaussianBlur(circle, (31, 31), 12)
    inv = cv2.invertAffineTransform(m)
    alpha = cv2.warpAffine(circle, inv, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderValue=0.0)
    return alpha, m


def bottleneck(img: np.ndarray, m: np.ndarray, size: int = 128) -> np.ndarray:
    """The face through a ``size``-px aligned crop and back (what a 128-px generator can render)."""
    k = size / 128.0
    mk = m * k
    crop = cv2.warpAffine(img, mk, (size, size), flags=cv2.INTER_AREA)
    inv = cv2.invertAffineTransform(mk)
    return cv2.warpAffine(crop, inv, (img.shape[1], img.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)


def unsharp(img: np.ndarray, amount: float = 2.5, sigma: float = 1.5) -> np.ndarray:
    f = img.astype(np.float32)
    return np.clip(f + amount * (f - cv2.GaussianBlur(f, (0, 0), sigma)), 0, 255).astype(np.uint8)


def lab_shift(img: np.ndarray, da: float, db: float, dl: float = 0.0) -> np.ndarray:
    lab = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lab[..., 0] += dl
    lab[..., 1] += da
    lab[..., 2] += db
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def other_face(img: np.ndarray) -> np.ndarray:
    """'Person B': a differently textured, differently coloured face in the same place."""
    rng = np.random.default_rng(7)
    b = cv2.bilateralFilter(img, 9, 60, 9)
    b = lab_shift(b, -6.0, 14.0, -14.0)
    noise = cv2.GaussianBlur(rng.normal(0, 14, img.shape[:2]).astype(np.float32), (0, 0), 1.2)
    return np.clip(b.astype(np.float32) + noise[..., None], 0, 255).astype(np.uint8)


def swap(img: np.ndarray, lm: np.ndarray, kind: str,
         mask: tuple[np.ndarray, np.ndarray] | None = None, shift: tuple[float, float] = (14.0, -12.0)) -> np.ndarray:
    """Paste an altered face back through the DLC mask.

    kind: ``soft`` (128-px bottleneck + σ 1.6 blur), ``soft_mild`` (bottleneck + σ 0.8), ``sharp``
    (unsharp mask ×5, σ 1: an "enhanced" face), ``colour`` (Lab a/b shifted by ``shift``, default
    +14/−12), ``other`` (person B), ``none``. In ``sequence``, ``edge_flicker`` is a milder colour
    shift (+8/−6) pasted through a mask whose centre and radius jitter every frame (σ 3 px in the
    128-px space), as stale keypoints or a per-frame segmentation mask make it."""
    if kind == "none":
        return img
    alpha, m = mask if mask is not None else dlc_mask(lm, img.shape)
    ys, xs = np.nonzero(alpha > 1e-3)
    y0, y1, x0, x1 = max(0, ys.min() - 8), ys.max() + 9, max(0, xs.min() - 8), xs.max() + 9
    roi = (slice(y0, y1), slice(x0, x1))        # only the pasted region is rendered (fast tests)
    src = img[roi]
    if kind == "soft":
        gen = cv2.GaussianBlur(bottleneck(img, m, 128)[roi], (0, 0), 1.6)
    elif kind == "soft_mild":
        gen = cv2.GaussianBlur(bottleneck(img, m, 128)[roi], (0, 0), 0.8)
    elif kind == "sharp":
        gen = unsharp(src, 5.0, 1.0)
    elif kind == "colour":
        gen = lab_shift(src, *shift)
    elif kind == "other":
        gen = other_face(src)
    else:
        raise ValueError(kind)
    a = alpha[roi][..., None]
    out = img.copy()
    out[roi] = np.clip(a * gen.astype(np.float32) + (1 - a) * src.astype(np.float32) + 0.5, 0, 255).astype(np.uint8)
    return out


def sequence(kinds: list[str] | str, *, seconds: float = 6.0, fps: float = 10.0, noise: float = 4.0,
             lm_jitter_iod: float = 0.0, lm_noise_iod: float = 0.0015, yaw: float = 0.0, shrink: float = 1.0,
             blur: float = 0.0, seed: int = 0) -> list[Observation]:
    """Observations of the (optionally swapped) scene drifting sideways at ``fps``.

    ``kinds``: one swap kind for every frame, or one per frame. ``lm_jitter_iod``: std of
    independent per-point landmark noise (in IODs) on top of the smooth motion (``lm_noise_iod``,
    MediaPipe-like). ``shrink`` < 1 makes the whole picture (and face) smaller; ``blur`` > 0
    Gaussian-blurs the frame; ``yaw`` is reported as the head pose.
    """
    base, mesh = base_scene()
    n = int(round(seconds * fps))
    if isinstance(kinds, str):
        kinds = [kinds] * n
    rng = np.random.default_rng(seed)
    iod = float(np.linalg.norm(mesh[263, :2] - mesh[33, :2]))
    mask = dlc_mask(mesh, base.shape)
    out: list[Observation] = []
    prev = None
    for i in range(n):
        t = i / fps
        dx = int(round(8 * np.sin(2 * np.pi * 0.25 * t)))
        # the camera's noise comes first; the swapper then replaces the face (and its noise)
        cam = np.clip(base.astype(np.float32) + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)
        if kinds[i] == "edge_flicker":
            jm = dlc_mask(mesh, base.shape, offset=(float(rng.normal(0, 3)), float(rng.normal(0, 3))),
                          radius=56.0 + float(rng.normal(0, 3)))
            img = swap(cam, mesh, "colour", jm, shift=(8.0, -6.0))
        else:
            img = swap(cam, mesh, kinds[i], mask)
        img = np.roll(img, dx, axis=1)
        lm = mesh.copy()
        lm[:, 0] += dx
        lm[:, :2] += rng.normal(0, lm_noise_iod * iod, (lm.shape[0], 2))
        if lm_jitter_iod > 0:
            lm[:, :2] += rng.normal(0, lm_jitter_iod * iod, (lm.shape[0], 2))
        if shrink != 1.0:
            img = cv2.resize(img, None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
            lm = lm * shrink
        if blur > 0:
            img = cv2.GaussianBlur(img, (0, 0), blur)
        face = make_face(lm.astype(np.float32), img, yaw=yaw)
        diff = -1.0 if prev is None else float(np.mean(np.abs(img.astype(np.int16) - prev.astype(np.int16))))
        out.append(Observation(frame=VideoFrame(t_ns=int(round(t * NS_PER_S)), index=i, image=img), faces=(face,),
                               hands=(), hands_ran=False, frame_diff=diff))
        prev = img
    return out

"""Pure geometry for the challenges: face regions, hand masks, coverage, aligned patches.

Everything works on numpy arrays in pixel coordinates (face landmarks (478, ≥2), hand landmarks
(21, ≥2)) and is free of mediapipe and Qt, so unit tests can drive it with constructed points.

Occlusion is judged from the **hand landmarks** and **pixels**, never from the face mesh
disappearing: the face landmarker keeps returning a full (hallucinated) mesh under a hand, which
is exactly what lets us know where the eyes and mouth *should* be while a hand covers them.

The working space is a 96-px face crop aligned on the 5-point ArcFace template scaled by
``ALIGN_SCALE`` (so brows, chin and cheeks fit). Hand and face landmarks are mapped into it with
the same 2×3 similarity, masks are rasterised there, and the region patches are cut from it.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.perception import face_geometry as fg

# --- face-mesh regions ------------------------------------------------------------------------
# Eye contours (the opening), image-left eye (subject's right) and image-right eye.
EYE_A = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
EYE_B = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
BROW_A = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
BROW_B = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
FACE_OVAL = fg.FACE_OVAL
# Inner-face points used for rigid motion (eye corners, nose, mouth corners, brow centres).
INNER_POINTS = (33, 133, 362, 263, 1, 4, 5, 195, 61, 291, 13, 14, 105, 334, 168, 6)
# Cheek / forehead sample points (skin that stays visible unless the hand covers it).
SKIN_POINTS = (50, 280, 151, 205, 425)

# --- hand skeleton ----------------------------------------------------------------------------
PALM = (0, 1, 2, 5, 9, 13, 17)
FINGERS = ((1, 2, 3, 4), (5, 6, 7, 8), (9, 10, 11, 12), (13, 14, 15, 16), (17, 18, 19, 20))
FINGER_WIDTH = 0.20      # × palm length (wrist→middle MCP); real fingers are ≈ 0.19–0.22
HULL_DILATE = 0.10       # the compliance hull is dilated by 10 % of the hand size (§2.2)

# --- aligned crop -----------------------------------------------------------------------------
CROP = 96
ALIGN_SCALE = 0.72
_TEMPLATE = ((fg._ARCFACE_112.astype(np.float64) * (CROP / 112.0)) - CROP / 2.0) * ALIGN_SCALE + CROP / 2.0


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


def align_matrix(face_lm: np.ndarray) -> np.ndarray:
    """2×3 similarity: frame px → the 96-px aligned crop."""
    return similarity(fg.five_points(face_lm), _TEMPLATE)


def apply(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    p = np.asarray(pts, np.float64)[:, :2]
    return p @ m[:, :2].T + m[:, 2]


def aligned_crop(image: np.ndarray, m: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(image, m, (CROP, CROP), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def iod(face_lm: np.ndarray) -> float:
    return float(np.linalg.norm(face_lm[fg.LEFT_EYE_OUTER, :2] - face_lm[fg.RIGHT_EYE_OUTER, :2])) or 1.0


# --- masks ------------------------------------------------------------------------------------

def poly_mask(pts: np.ndarray, shape: tuple[int, int], *, scale: int = 4) -> np.ndarray:
    """Filled polygon (N,2) as a bool mask of ``shape`` (sub-pixel via fixed-point shift)."""
    m = np.zeros(shape, np.uint8)
    p = np.round(np.asarray(pts, np.float64)[:, :2] * (1 << 2)).astype(np.int32)
    cv2.fillPoly(m, [p], 1, lineType=cv2.LINE_8, shift=2)
    return m.astype(bool)


def palm_length(hand: np.ndarray) -> float:
    return float(np.linalg.norm(hand[9, :2] - hand[0, :2])) or 1.0


def hand_size(hand: np.ndarray) -> float:
    x0, y0 = hand[:, :2].min(0)
    x1, y1 = hand[:, :2].max(0)
    return float(max(x1 - x0, y1 - y0)) or 1.0


def hand_shape_mask(hand: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Where the hand's skin is, from its 21 landmarks: palm polygon + fingers as thick segments.

    Deliberately slightly *thin* (fingers 0.20 palm lengths wide) so that gaps between spread
    fingers are not counted as covered.
    """
    h = np.asarray(hand, np.float64)[:, :2]
    m = np.zeros(shape, np.uint8)
    pl = palm_length(h)
    palm = cv2.convexHull(np.round(h[list(PALM)] * 4).astype(np.int32))
    cv2.fillConvexPoly(m, palm, 1, lineType=cv2.LINE_8, shift=2)
    th = max(1, int(round(FINGER_WIDTH * pl)))
    for chain in FINGERS:
        for a, b in zip(chain[:-1], chain[1:]):
            pa = tuple(int(round(v)) for v in h[a])
            pb = tuple(int(round(v)) for v in h[b])
            cv2.line(m, pa, pb, 1, thickness=th, lineType=cv2.LINE_8)
            cv2.circle(m, pb, max(1, th // 2), 1, -1)
    return m.astype(bool)


def hand_hull_mask(hand: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Convex hull of the 21 points dilated by 10 % of the hand size (compliance, §2.2)."""
    h = np.asarray(hand, np.float64)[:, :2]
    c = h.mean(0)
    size = hand_size(h)
    d = h - c
    n = np.linalg.norm(d, axis=1, keepdims=True)
    n[n == 0] = 1.0
    h2 = h + d / n * HULL_DILATE * size
    hull = cv2.convexHull(np.round(h2 * 4).astype(np.int32))
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, hull, 1, lineType=cv2.LINE_8, shift=2)
    return m.astype(bool)


def forearm_mask(hand: np.ndarray, shape: tuple[int, int], length: float = 2.5, width: float = 1.0) -> np.ndarray:
    """Where the forearm probably is: a band from the wrist away from the fingers, ``length`` palm
    lengths long and ``width`` palm lengths wide (the hand landmarks do not cover the arm)."""
    h = np.asarray(hand, np.float64)[:, :2]
    pl = palm_length(h)
    u = h[0] - h[9]
    u = u / (np.linalg.norm(u) or 1.0)
    n = np.array([-u[1], u[0]])
    w = 0.5 * width * pl
    quad = np.array([h[0] + n * w, h[0] - n * w, h[0] + u * length * pl - n * w * 1.2,
                     h[0] + u * length * pl + n * w * 1.2])
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(quad * 4).astype(np.int32), 1, lineType=cv2.LINE_8, shift=2)
    return m.astype(bool)


def coverage(region: np.ndarray, cover: np.ndarray) -> float:
    """Fraction of ``region`` (bool mask) under ``cover`` (bool mask); 0 when the region is empty."""
    n = int(region.sum())
    return float((region & cover).sum()) / n if n else 0.0


# --- region patches ---------------------------------------------------------------------------

def region_boxes(face_al: np.ndarray) -> dict[str, tuple[int, int, int, int]]:
    """Boxes (x0, y0, x1, y1) in aligned-crop px around each eye (with its brow) and the mouth.

    ``face_al``: face landmarks already mapped into the aligned crop.
    """
    out = {}
    for name, eye, brow in (("eye_a", EYE_A, BROW_A), ("eye_b", EYE_B, BROW_B)):
        pts = np.vstack([face_al[list(eye)], face_al[list(brow)]])
        out[name] = _box(pts, pad=0.12)
    out["mouth"] = _box(face_al[list(LIPS_OUTER)], pad=0.25)
    return out


def _box(pts: np.ndarray, pad: float) -> tuple[int, int, int, int]:
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    w, h = x1 - x0, y1 - y0
    px, py = pad * w + 1, pad * h + 1
    return (int(max(0, math.floor(x0 - px))), int(max(0, math.floor(y0 - py))),
            int(min(CROP, math.ceil(x1 + px))), int(min(CROP, math.ceil(y1 + py))))


def ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Zero-mean normalised cross-correlation of two equal-shape grey patches (optionally masked)."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if mask is not None:
        if int(mask.sum()) < 8:
            return float("nan")
        a = a[mask]
        b = b[mask]
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    if den < 1e-6:
        return 0.0
    return float((a * b).sum() / den)


def detail_energy(gray: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Laplacian variance normalised by mean luminance² (exposure-free); NaN when too few pixels."""
    g = gray.astype(np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    if mask is not None:
        m = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        if int(m.sum()) < 12:
            return float("nan")
        lap = lap[m]
        g = g[m]
    mean = float(g.mean()) + 1.0
    return float(lap.var() / (mean * mean))


def ycrcb_stats(rgb: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean (3,) and covariance (2,2 over Cr,Cb) of YCrCb pixels under ``mask``; None if < 12 px."""
    if int(mask.sum()) < 12:
        return None
    y = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[mask].astype(np.float64)
    mu = y.mean(0)
    cov = np.cov(y[:, 1:].T) + np.eye(2) * 4.0
    return mu, cov

"""Pure geometry on face landmarks: head pose, bbox, face size, aligned crops.

All functions take numpy arrays in frame pixel coordinates and are free of mediapipe, so
detectors and tests can use them on any landmarks.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.core.types import HeadPose

# Indices into the 478-point MediaPipe face mesh.
LEFT_EYE_OUTER = 33      # subject's right eye, image left
RIGHT_EYE_OUTER = 263
NOSE_TIP = 1
MOUTH_LEFT = 61
MOUTH_RIGHT = 291
CHIN = 152
FOREHEAD = 10
IRIS_LEFT = 468
IRIS_RIGHT = 473
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
             377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)

# 5-point ArcFace template for a 112-px crop (eyes, nose, mouth corners), used scaled.
_ARCFACE_112 = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                         [41.5493, 92.3655], [70.7299, 92.2041]], dtype=np.float32)


def five_points(landmarks: np.ndarray) -> np.ndarray:
    """(5, 2) float32: eye centres (iris), nose tip, mouth corners, in image order left→right."""
    lm = landmarks
    if lm.shape[0] >= 478:
        eyes = lm[[IRIS_LEFT, IRIS_RIGHT], :2]
    else:
        eyes = lm[[LEFT_EYE_OUTER, RIGHT_EYE_OUTER], :2]
    pts = np.vstack([eyes, lm[[NOSE_TIP], :2], lm[[MOUTH_LEFT, MOUTH_RIGHT], :2]]).astype(np.float32)
    if pts[0, 0] > pts[1, 0]:           # keep the template's left/right order
        pts = pts[[1, 0, 2, 4, 3]]
    return pts


def bbox_of(points: np.ndarray, width: int, height: int) -> tuple[float, float, float, float]:
    """Axis-aligned bbox of (N, >=2) px points clipped to a (width, height) frame."""
    x0, y0 = np.min(points[:, :2], axis=0)
    x1, y1 = np.max(points[:, :2], axis=0)
    return (float(max(0.0, x0)), float(max(0.0, y0)), float(min(width, x1)), float(min(height, y1)))


def pose_from_matrix(m: np.ndarray) -> HeadPose:
    """Yaw/pitch/roll in degrees from MediaPipe's 4x4 facial transformation matrix.

    The matrix maps the canonical face (x right, y up, z towards the camera) into camera
    space. Yaw > 0 when the face turns towards the image's right, pitch > 0 when it looks up.
    """
    r = np.asarray(m, dtype=np.float64)[:3, :3]
    # remove scale
    sx = np.linalg.norm(r[:, 0]) or 1.0
    r = r / sx
    yaw = math.degrees(math.atan2(r[0, 2], r[2, 2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -r[1, 2]))))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    return HeadPose(yaw=yaw, pitch=-pitch, roll=roll)


def pose_from_landmarks(landmarks: np.ndarray) -> HeadPose:
    """Rough pose from 2D mesh geometry (fallback when no matrix is available)."""
    lm = landmarks[:, :2]
    le, re, nose, chin, top = lm[LEFT_EYE_OUTER], lm[RIGHT_EYE_OUTER], lm[NOSE_TIP], lm[CHIN], lm[FOREHEAD]
    mid = (le + re) / 2
    iod = float(np.linalg.norm(re - le)) or 1.0
    roll = math.degrees(math.atan2(re[1] - le[1], re[0] - le[0]))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, (nose[0] - mid[0]) / (0.6 * iod)))))
    face_h = float(np.linalg.norm(chin - top)) or 1.0
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, ((mid[1] + chin[1]) / 2 - nose[1]) / (0.5 * face_h)))))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


def aligned_crop(image: np.ndarray, landmarks: np.ndarray, size: int = 128, *, scale: float = 1.0) -> np.ndarray:
    """Similarity-align the face to the ArcFace 5-point template.

    ``image``: (H, W, 3) uint8. Returns (size, size, 3) uint8. ``scale`` < 1 zooms out to keep
    more context around the face (0.75 keeps the jaw line and some forehead).
    """
    dst = _ARCFACE_112 * (size / 112.0)
    c = np.array([size / 2.0, size / 2.0], dtype=np.float32)
    dst = (dst - c) * scale + c
    m, _ = cv2.estimateAffinePartial2D(five_points(landmarks), dst, method=cv2.LMEDS)
    if m is None:
        x0, y0, x1, y1 = bbox_of(landmarks, image.shape[1], image.shape[0])
        crop = image[int(y0):max(int(y0) + 1, int(y1)), int(x0):max(int(x0) + 1, int(x1))]
        return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def sharpness(gray_crop: np.ndarray) -> float:
    """Normalised Laplacian variance of a grey crop (any size, resized to 128 px wide).

    Returns var(Laplacian) / mean² × 100, so it does not depend on exposure. Sharp webcam
    faces score ≈ 5–100, an 8-px Gaussian blur < 1.
    """
    if gray_crop.size == 0:
        return 0.0
    h, w = gray_crop.shape[:2]
    if w != 128:
        gray_crop = cv2.resize(gray_crop, (128, max(1, int(round(h * 128 / w)))), interpolation=cv2.INTER_AREA)
    g = gray_crop.astype(np.float32)
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=3)
    mean = float(g.mean()) + 1e-3
    return float(lap.var() / (mean * mean) * 100.0)

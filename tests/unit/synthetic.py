"""Scripted Observations for unit and contract tests, without running mediapipe.

The frame is the public-domain astronaut portrait from scikit-image (512x512 RGB) and the
face mesh is the one MediaPipe found on it (tests/data/face_mesh_astronaut.npy, (478, 3) px),
so pixel-reading detectors get a real face where the landmarks say it is.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from interview_guard.core.types import NS_PER_S, FaceObs, HandObs, HeadPose, Observation, VideoFrame
from interview_guard.perception import face_geometry as fg

DATA = Path(__file__).resolve().parents[1] / "data"


def astronaut() -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut())


def face_mesh() -> np.ndarray:
    return np.load(DATA / "face_mesh_astronaut.npy")


def make_face(lm: np.ndarray, image: np.ndarray, *, yaw: float = 0.0, pitch: float = -5.0,
              sharp: float | None = None) -> FaceObs:
    h, w = image.shape[:2]
    bbox = fg.bbox_of(lm, w, h)
    x0, y0, x1, y1 = (int(v) for v in bbox)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    s = fg.sharpness(gray[y0:max(y0 + 1, y1), x0:max(x0 + 1, x1)]) if sharp is None else sharp
    size = float(np.linalg.norm(lm[fg.CHIN, :2] - lm[fg.FOREHEAD, :2]))
    return FaceObs(landmarks=lm.astype(np.float32), bbox=bbox, pose=HeadPose(yaw, pitch, 0.0), size_px=size,
                   sharpness=s)


def scripted_observations(fps: float = 10.0) -> list[Observation]:
    """~14 s: normal 0–3 s (moving), no face 3–5, small 5–7, blurred 7–9, turned 9–10.5,
    frozen 10.5–12.5, two faces 12.5–14."""
    base = astronaut()
    mesh = face_mesh()
    out: list[Observation] = []
    n = int(14 * fps)
    prev = None
    rng = np.random.default_rng(0)

    def room() -> np.ndarray:  # an empty, slightly noisy room (a live camera never repeats exactly)
        return np.clip(90 + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)

    for i in range(n):
        t = i / fps
        t_ns = int(round(t * NS_PER_S))
        dx = int(round(6 * np.sin(2 * np.pi * 0.3 * t)))
        img = np.roll(base, dx, axis=1)
        lm = mesh.copy()
        lm[:, 0] += dx
        faces: tuple[FaceObs, ...]
        if 3 <= t < 5:
            img = room()
            faces = ()
        elif 5 <= t < 7:
            small = cv2.resize(base, (96, 96), interpolation=cv2.INTER_AREA)
            img = room()
            img[200:296, 200:296] = small
            lm_s = mesh.copy()
            lm_s[:, :2] = lm_s[:, :2] * (96 / 512) + 200
            faces = (make_face(lm_s, img),)
        elif 7 <= t < 9:
            img = cv2.GaussianBlur(img, (0, 0), 8)
            faces = (make_face(lm, img),)
        elif 9 <= t < 10.5:
            faces = (make_face(lm, img, yaw=70.0),)
        elif 10.5 <= t < 12.5:
            img = prev if prev is not None else img
            faces = (make_face(lm, img),)
        elif t >= 12.5:
            lm2 = mesh.copy()
            lm2[:, :2] = lm2[:, :2] * 0.8 + np.array([280.0, 250.0])
            faces = (make_face(lm, img), make_face(lm2, img))
        else:
            faces = (make_face(lm, img),)
        diff = -1.0 if prev is None else float(np.mean(np.abs(img.astype(np.int16) - prev.astype(np.int16))))
        hands: tuple[HandObs, ...] = ()
        out.append(Observation(frame=VideoFrame(t_ns=t_ns, index=i, image=img), faces=faces, hands=hands,
                               hands_ran=(i % 3 == 0), frame_diff=diff))
        prev = img
    return out

"""Shared, memoised face crops so detectors on the same frame don't redo the same warp.

``aligned_face(obs, size=128, scale=1.0)`` returns the primary face similarity-aligned to the
ArcFace 5-point template as (size, size, 3) uint8 RGB (see ``face_geometry.aligned_crop``), or
None without a face. ``gray_frame(obs)`` returns the frame as (H, W) uint8 grey. Results are
cached in ``obs.cache`` for the lifetime of the Observation.
"""

from __future__ import annotations

import cv2
import numpy as np

from interview_guard.core.types import Observation
from interview_guard.perception import face_geometry as fg


def aligned_face(obs: Observation, size: int = 128, scale: float = 1.0) -> np.ndarray | None:
    face = obs.face
    if face is None:
        return None
    key = ("aligned", size, scale)
    crop = obs.cache.get(key)
    if crop is None:
        crop = fg.aligned_crop(obs.frame.image, face.landmarks, size, scale=scale)
        obs.cache[key] = crop
    return crop


def gray_frame(obs: Observation) -> np.ndarray:
    g = obs.cache.get("gray")
    if g is None:
        g = cv2.cvtColor(obs.frame.image, cv2.COLOR_RGB2GRAY)
        obs.cache["gray"] = g
    return g

"""What a challenge keeps from each observation (cheap: well under a millisecond per frame).

Scoring happens once, when the window closes; everything it needs from the pixels is taken
here, because frames are not kept: a 96-px aligned face crop (masks and patches are rasterised
in it later), a small grey thumbnail of the whole frame (to tell a global cut or freeze from a
change on the face only), and native-resolution detail/colour statistics of a few skin patches
on and around the face (sharpness and colour of the face vs its surroundings).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.core.types import Observation
from interview_guard.perception import face_geometry as fg
from interview_guard.perception.crops import gray_frame

THUMB = (48, 27)
PATCH_HALF = 0.18                  # × IOD
# Patch centres: (name, landmark, offset along the face's right axis, offset along its down axis), in IODs.
PATCHES = (
    ("forehead", 151, 0.0, -0.10, "in"),
    ("cheek_a", 50, 0.0, 0.0, "in"),
    ("cheek_b", 280, 0.0, 0.0, "in"),
    ("side_a", 234, -0.40, 0.0, "out"),        # temple / ear / hair beside the image-left cheek
    ("side_b", 454, 0.40, 0.0, "out"),
    ("neck", 152, 0.0, 0.55, "out"),
)


@dataclass(slots=True)
class FrameRec:
    t_ns: int
    face: np.ndarray | None          # (478, 2) float32 px
    yaw: float
    pitch: float
    iod: float
    hands: tuple[np.ndarray, ...]    # (21, 2) float32 px each
    hands_ran: bool
    m: np.ndarray | None             # 2×3 frame → aligned crop
    crop: np.ndarray | None          # (96, 96, 3) uint8 RGB
    thumb: np.ndarray                # (27, 48) uint8 grey
    frame_diff: float
    patch_detail: np.ndarray         # (len(PATCHES),) log detail energy, NaN when off-frame
    patch_lab: np.ndarray            # (len(PATCHES), 3) mean Lab, NaN when off-frame
    frame_wh: tuple[int, int]

    @property
    def has_face(self) -> bool:
        return self.face is not None


def record(obs: Observation) -> FrameRec:
    img = obs.frame.image
    h, w = img.shape[:2]
    gray = gray_frame(obs)
    step = max(1, min(gray.shape[1] // (THUMB[0] * 2), gray.shape[0] // (THUMB[1] * 2)))
    thumb = cv2.resize(gray[::step, ::step], THUMB, interpolation=cv2.INTER_AREA)
    hands = tuple(np.asarray(hd.landmarks[:, :2], np.float32) for hd in obs.hands)
    face = obs.face
    n = len(PATCHES)
    detail = np.full(n, np.nan, np.float32)
    lab = np.full((n, 3), np.nan, np.float32)
    if face is None:
        return FrameRec(obs.t_ns, None, 0.0, 0.0, 0.0, hands, obs.hands_ran, None, None, thumb,
                        obs.frame_diff, detail, lab, (w, h))
    lm = np.asarray(face.landmarks[:, :2], np.float32)
    iod = geo.iod(lm)
    m = obs.cache.get("challenge_m")
    if m is None:
        m = geo.align_matrix(lm)
        obs.cache["challenge_m"] = m
    crop = geo.aligned_crop(img, m)
    a, b = lm[fg.LEFT_EYE_OUTER].astype(np.float64), lm[fg.RIGHT_EYE_OUTER].astype(np.float64)
    if a[0] > b[0]:
        a, b = b, a
    right = (b - a) / (np.linalg.norm(b - a) or 1.0)
    down = np.array([-right[1], right[0]])
    half = max(3, int(round(PATCH_HALF * iod)))
    means = np.zeros((1, n, 3), np.uint8)
    ok = np.zeros(n, bool)
    for i, (_, idx, dx, dy, _) in enumerate(PATCHES):
        c = lm[idx].astype(np.float64) + (dx * right + dy * down) * iod
        x0, y0 = int(round(c[0])) - half, int(round(c[1])) - half
        x1, y1 = x0 + 2 * half, y0 + 2 * half
        if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
            continue
        g = gray[y0:y1, x0:x1]
        detail[i] = np.log(geo.detail_energy(g) + 1e-7)
        means[0, i] = np.clip(img[y0:y1, x0:x1].reshape(-1, 3).mean(0) + 0.5, 0, 255).astype(np.uint8)
        ok[i] = True
    if ok.any():   # Lab of each patch's mean colour (one conversion for all patches)
        lab[ok] = cv2.cvtColor(means, cv2.COLOR_RGB2LAB)[0][ok].astype(np.float32)
    return FrameRec(obs.t_ns, lm, float(face.pose.yaw), float(face.pose.pitch), iod, hands, obs.hands_ran,
                    m, crop, thumb, obs.frame_diff, detail, lab, (w, h))

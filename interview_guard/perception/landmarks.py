"""MediaPipe Tasks (1.2.x) face and hand landmarkers in VIDEO mode, turned into Observations.

``Perceiver.observe(frame)`` returns an ``Observation``. Faces run on every frame; hands run
every ``hands_every``-th frame, or on every frame while ``hands_on_demand`` is set (a challenge
window). MediaPipe VIDEO mode needs strictly increasing integer millisecond timestamps: we
derive them from ``t_ns`` and bump duplicates by 1 ms.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from interview_guard.core.types import FaceObs, HandObs, Observation, VideoFrame, NS_PER_MS
from interview_guard.core.native_logs import quiet_native_stderr
from interview_guard.perception import face_geometry as fg
from interview_guard.perception.model_store import ModelStore


@dataclass(frozen=True)
class PerceptionConfig:
    max_faces: int = 3
    max_hands: int = 2
    hands_every: int = 3              # run the hand model on every Nth frame (0 = never unless on demand)
    min_face_confidence: float = 0.5
    min_hand_confidence: float = 0.5


class Perceiver:
    def __init__(self, store: ModelStore | None = None, config: PerceptionConfig | None = None) -> None:
        # Imported here so that modules that only need types stay light.
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        self.config = config or PerceptionConfig()
        store = store or ModelStore()
        face_path = store.path("face_landmarker")
        hand_path = store.path("hand_landmarker")
        with quiet_native_stderr():
            self._create(vision, BaseOptions, face_path, hand_path)
        self.hands_on_demand = False
        self._last_ms = -1
        self._n = 0
        self._prev_small: np.ndarray | None = None
        self._prev_gray: np.ndarray | None = None
        self.face_ms = 0.0
        self.hand_ms = 0.0

    def _create(self, vision, BaseOptions, face_path, hand_path) -> None:
        self._face = vision.FaceLandmarker.create_from_options(vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(face_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=self.config.max_faces,
            min_face_detection_confidence=self.config.min_face_confidence,
            min_face_presence_confidence=self.config.min_face_confidence,
            output_face_blendshapes=False,
            output_facial_transformation_matrixes=True,
        ))
        self._hands = vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(hand_path)),
            running_mode=vision.RunningMode.VIDEO,
            num_hands=self.config.max_hands,
            min_hand_detection_confidence=self.config.min_hand_confidence,
        ))
        # Warm up both graphs on a blank frame (their first run logs and allocates).
        blank = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8))
        self._face.detect_for_video(blank, 0)
        self._hands.detect_for_video(blank, 0)

    def close(self) -> None:
        self._face.close()
        self._hands.close()

    def __enter__(self) -> "Perceiver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _timestamp_ms(self, t_ns: int) -> int:
        ms = int(t_ns // NS_PER_MS) + 1  # +1: the warm-up used 0
        if ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def observe(self, frame: VideoFrame, *, want_hands: bool | None = None) -> Observation:
        t0 = time.perf_counter()
        img = frame.image
        if not img.flags["C_CONTIGUOUS"]:
            img = np.ascontiguousarray(img)
        h, w = img.shape[:2]
        ts = self._timestamp_ms(frame.t_ns)
        mp_img = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=img)

        gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        small = cv2.resize(gray, (64, 36), interpolation=cv2.INTER_AREA)
        frame_diff = -1.0 if self._prev_small is None else float(
            np.mean(np.abs(small.astype(np.int16) - self._prev_small.astype(np.int16))))
        # exact repeats (a frozen feed) are measured on the full frame, not the thumbnail
        if frame_diff == 0.0 and self._prev_gray is not None and not np.array_equal(gray, self._prev_gray):
            frame_diff = 1e-3
        self._prev_small = small
        self._prev_gray = gray

        res = self._face.detect_for_video(mp_img, ts)
        t1 = time.perf_counter()
        faces = []
        for i, lms in enumerate(res.face_landmarks):
            arr = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
            bbox = fg.bbox_of(arr, w, h)
            if res.facial_transformation_matrixes and i < len(res.facial_transformation_matrixes):
                pose = fg.pose_from_matrix(np.asarray(res.facial_transformation_matrixes[i]))
            else:
                pose = fg.pose_from_landmarks(arr)
            x0, y0, x1, y1 = (int(round(v)) for v in bbox)
            crop = gray[y0:max(y0 + 1, y1), x0:max(x0 + 1, x1)]
            faces.append(FaceObs(
                landmarks=arr, bbox=bbox, pose=pose,
                size_px=float(np.linalg.norm(arr[fg.CHIN, :2] - arr[fg.FOREHEAD, :2])),
                sharpness=fg.sharpness(crop),
            ))
        faces.sort(key=lambda f: -f.size_px)

        run_hands = want_hands if want_hands is not None else (
            self.hands_on_demand or (self.config.hands_every > 0 and self._n % self.config.hands_every == 0))
        hands: list[HandObs] = []
        if run_hands:
            hres = self._hands.detect_for_video(mp_img, ts)
            fb = faces[0].bbox if faces else None
            for lms in hres.hand_landmarks:
                arr = np.array([(p.x * w, p.y * h, p.z * w) for p in lms], dtype=np.float32)
                hb = fg.bbox_of(arr, w, h)
                hands.append(HandObs(landmarks=arr, bbox=hb, face_overlap=_overlap(hb, fb)))
        t2 = time.perf_counter()
        self.face_ms = (t1 - t0) * 1e3
        self.hand_ms = (t2 - t1) * 1e3 if run_hands else 0.0
        self._n += 1
        return Observation(frame=frame, faces=tuple(faces), hands=tuple(hands), hands_ran=run_hands,
                           frame_diff=frame_diff, perception_ms=(t2 - t0) * 1e3, cache={"gray": gray})


def _overlap(hand: tuple[float, float, float, float], face: tuple[float, float, float, float] | None) -> float:
    """Fraction of the hand bbox's area inside the face bbox."""
    if face is None:
        return 0.0
    ix = max(0.0, min(hand[2], face[2]) - max(hand[0], face[0]))
    iy = max(0.0, min(hand[3], face[3]) - max(hand[1], face[1]))
    area = max(1e-6, (hand[2] - hand[0]) * (hand[3] - hand[1]))
    return float(ix * iy / area)

"""Frozen dataclasses passed between pipeline stages.

Conventions
-----------
* ``t_ns``: int nanoseconds since session start. Video is stamped when grabbed (live) or
  from PTS (file); audio from its sample count. Downstream code never reads a clock.
* Images are ``numpy.uint8`` arrays of shape ``(H, W, 3)`` in **RGB** order, C-contiguous.
* Landmarks are ``numpy.float32`` arrays in **pixel** coordinates of the frame:
  face ``(478, 3)`` (x, y in px; z in px-like units relative to the face), hand ``(21, 3)``.
* Audio samples are ``numpy.float32`` mono in [-1, 1], shape ``(n,)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

NS_PER_S = 1_000_000_000
NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One video frame. ``image``: (H, W, 3) uint8 RGB."""

    t_ns: int
    index: int
    image: np.ndarray
    source: str = ""

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class AudioChunk:
    """A block of mono audio. ``samples``: (n,) float32 in [-1, 1]; ``t_ns`` is the first sample's time."""

    t_ns: int
    samples: np.ndarray
    sample_rate: int
    source: str = ""

    @property
    def duration_ns(self) -> int:
        return int(len(self.samples) * NS_PER_S // self.sample_rate)


class SourceEventKind(str, enum.Enum):
    STARTED = "started"
    ENDED = "ended"          # normal end of a recording or a stop request
    LOST = "lost"            # the window closed / device vanished mid-capture
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """Out-of-band news from a source: it ended, lost its window, failed."""

    t_ns: int
    kind: SourceEventKind
    message: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Head rotation in degrees. yaw > 0: the face turns to the image's right; pitch > 0: up."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True, slots=True)
class FaceObs:
    """One face seen in a frame.

    ``landmarks``: (478, 3) float32 pixel coords. ``bbox``: (x0, y0, x1, y1) px, clipped to the
    frame. ``size_px``: face height in px (chin to brow from the mesh bbox). ``sharpness``:
    variance of the Laplacian of the grey face crop resized to 128 px wide, divided by its mean
    luminance squared times 100.
    """

    landmarks: np.ndarray
    bbox: tuple[float, float, float, float]
    pose: HeadPose
    size_px: float
    sharpness: float

    @property
    def center(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.bbox
        return ((x0 + x1) / 2.0, (y0 + y1) / 2.0)


@dataclass(frozen=True, slots=True)
class HandObs:
    """One hand. ``landmarks``: (21, 3) float32 px. ``face_overlap``: fraction of the hand's
    bbox area that lies inside the primary face's bbox (0 when no face)."""

    landmarks: np.ndarray
    bbox: tuple[float, float, float, float]
    face_overlap: float

    @property
    def overlaps_face(self) -> bool:
        return self.face_overlap > 0.05


@dataclass(frozen=True, slots=True)
class Observation:
    """Perception output for one frame: what a detector may read.

    ``faces`` are sorted largest first. ``hands_ran`` tells whether the hand model ran on this
    frame (hands run every Nth frame or on demand); when False, ``hands`` is empty for lack of
    looking, not because there are none. ``frame_diff``: mean absolute grey-level difference to
    the previous frame (0 = identical; -1 for the first frame).
    """

    frame: VideoFrame
    faces: tuple[FaceObs, ...]
    hands: tuple[HandObs, ...]
    hands_ran: bool
    frame_diff: float
    perception_ms: float = 0.0
    # Per-frame memo for derived data several detectors share (e.g. aligned face crops):
    # see interview_guard.perception.crops. Not part of equality or repr.
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def t_ns(self) -> int:
        return self.frame.t_ns

    @property
    def face(self) -> FaceObs | None:
        return self.faces[0] if self.faces else None


@dataclass(frozen=True, slots=True)
class Evidence:
    """What one detector concluded about a time span.

    ``llr``: natural-log likelihood ratio, fake vs genuine (0 = no information; > 0 leans fake).
    ``quality``: 0..1 how usable the input was (0 = abstained). ``reason``: one plain sentence
    an interviewer can read. ``kind``: "risk" (about authenticity) or "quality" (about whether
    the tool can judge at all). ``details``: JSON-serialisable numbers.
    """

    detector: str
    t_start_ns: int
    t_end_ns: int
    llr: float
    quality: float
    reason: str
    kind: str = "risk"
    code: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "t_start_s": round(self.t_start_ns / NS_PER_S, 3),
            "t_end_s": round(self.t_end_ns / NS_PER_S, 3),
            "llr": round(float(self.llr), 4),
            "quality": round(float(self.quality), 4),
            "kind": self.kind,
            "code": self.code,
            "reason": self.reason,
            "details": {k: _jsonable(v) for k, v in self.details.items()},
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.floating,)):
        return round(float(v), 4)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, float):
        return round(v, 4)
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v

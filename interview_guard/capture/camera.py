"""A local camera through OpenCV (V4L2 on Linux, MSMF on Windows, AVFoundation on macOS).

Mostly for trying the detectors on yourself; a call is captured from its window instead.
Frames are stamped with the session clock when ``read()`` returns (V4L2 reads block up to
OpenCV's own 10 s select timeout). A camera that stops delivering frames (unplugged, taken
by another app) ends the iteration with a LOST event.

Tested here only on the error path (no camera hardware on the dev machines).
"""

from __future__ import annotations

import os
import sys
from typing import Any, Iterator

import numpy as np

from interview_guard.capture.base import VideoSource
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import SourceError
from interview_guard.core.types import SourceEvent, SourceEventKind, VideoFrame


def _backend():
    import cv2

    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2, "V4L2"
    if sys.platform == "win32":
        return cv2.CAP_MSMF, "Media Foundation"
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION, "AVFoundation"
    return cv2.CAP_ANY, "default"


def list_cameras(max_index: int = 10) -> list[int]:
    """Indices of video capture devices that exist (Linux: ``/dev/videoN``; elsewhere: empty)."""
    if sys.platform.startswith("linux"):
        return sorted(int(n[5:]) for n in os.listdir("/dev") if n.startswith("video") and n[5:].isdigit()
                      and int(n[5:]) <= max_index) if os.path.isdir("/dev") else []
    return []


class CameraVideoSource(VideoSource):
    """Frames of camera ``index`` as RGB. ``width``/``height``/``fps``: requested, not guaranteed."""

    def __init__(self, index: int = 0, *, width: int = 1280, height: int = 720, fps: float = 30.0,
                 clock: Any = None) -> None:
        super().__init__()
        import cv2

        if not isinstance(index, int) or index < 0:
            raise SourceError(f"camera index must be a whole number ≥ 0 (got {index!r})",
                              hint="write it as camera:0, camera:1, ...")
        self.index = index
        self.name = f"camera:{index}"
        self.clock = clock if clock is not None else SessionClock()
        self._iterating = False
        api, api_name = _backend()
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
            found = list_cameras()
            seen = ", ".join(f"camera:{i}" for i in found) if found else "no /dev/video* devices at all"
            raise SourceError(f"no camera {index} (/dev/video{index} does not exist; found: {seen})",
                              hint="plug in a camera, check that your user is in the 'video' group, "
                                   "or pick another index")
        cap = cv2.VideoCapture(index, api)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"camera {index} cannot be opened through {api_name}",
                              hint="it may be in use by another app (close the call app's preview) or "
                                   "need permission (macOS: System Settings › Privacy › Camera)")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        cap.set(cv2.CAP_PROP_FPS, fps)
        ok, frame = cap.read()
        if not ok or frame is None:
            cap.release()
            raise SourceError(f"camera {index} opened but delivers no frames",
                              hint="it may be in use by another app, or it is a metadata-only device node "
                                   "(try the next index)")
        self._cap = cap
        self._first = frame
        got_fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps_hint = float(got_fps) if got_fps and got_fps > 0 else float(fps)
        self.width, self.height = int(frame.shape[1]), int(frame.shape[0])

    def __iter__(self) -> Iterator[VideoFrame | SourceEvent]:
        import cv2

        index = 0
        last_t_ns = -1
        first, self._first = self._first, None
        self._iterating = True
        try:
            while True:
                if self.stopping:
                    yield SourceEvent(max(last_t_ns, 0), SourceEventKind.ENDED, "stopped", self.name)
                    return
                if first is not None:
                    ok, bgr = True, first
                    first = None
                else:
                    ok, bgr = self._cap.read()
                t_ns = int(self.clock.now_ns())
                if not ok or bgr is None:
                    yield SourceEvent(max(last_t_ns, 0), SourceEventKind.LOST,
                                      f"camera {self.index} stopped delivering frames after {index} frames "
                                      "(unplugged or taken by another app)", self.name)
                    return
                if t_ns <= last_t_ns:
                    t_ns = last_t_ns + 1
                last_t_ns = t_ns
                if bgr.ndim == 2:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
                else:
                    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                yield VideoFrame(t_ns=t_ns, index=index, image=np.ascontiguousarray(rgb), source=self.name)
                index += 1
        except cv2.error as e:
            yield SourceEvent(max(last_t_ns, 0), SourceEventKind.ERROR,
                              f"camera {self.index} failed after {index} frames ({str(e).strip()[:160]})", self.name)
        finally:
            self._iterating = False
            self._release()

    def _release(self) -> None:
        cap, self._cap = getattr(self, "_cap", None), None
        if cap is not None:
            cap.release()

    def close(self) -> None:
        """Stop; the device is released by the iterating thread (or now, if nobody iterates)."""
        super().close()
        if not self._iterating:
            self._release()

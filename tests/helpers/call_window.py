"""A stand-in for a video-call window: a real Qt window that plays a video file in a loop.

Run as a *subprocess* on an Xvfb display (tests never create Qt windows in the pytest process):

    DISPLAY=:NN QT_QPA_PLATFORM=xcb python tests/helpers/call_window.py VIDEO \
        --title "Zoom Meeting" --size 1280x720 --pos 100,80

Frames are decoded with PyAV and scaled with :func:`movie_frame` (the same function the test
uses to build its reference frames, so a correct capture matches them pixel for pixel). The
window is a frameless-margins QLabel of exactly ``--size`` pixels; each decoded frame is shown
at the file's frame rate; at the end the file is reopened (loop). Prints ``READY <x11 id>`` on
stdout once the first frame is on screen, ``FRAME <n>`` every 30 frames if ``--verbose``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np


def movie_frame(frame, width: int, height: int) -> np.ndarray:
    """A PyAV ``VideoFrame`` as (height, width, 3) uint8 RGB, scaled the same way everywhere.

    Decoded at its own size, then scaled with OpenCV (bilinear): ~2 ms per 1280x720 frame where
    PyAV's swscale upscaling took ~20 ms, too slow to play at 30 fps on a shared 2-core machine.
    """
    import cv2

    img = frame.to_ndarray(format="rgb24")
    if img.shape[1] != width or img.shape[0] != height:
        img = cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(img)


def iter_movie(path: str | Path, width: int, height: int):
    """Every frame of ``path`` scaled to ``width``x``height`` (RGB uint8), once."""
    import av

    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        for f in c.decode(vs):
            yield movie_frame(f, width, height)


def movie_fps(path: str | Path) -> float:
    import av

    with av.open(str(path)) as c:
        rate = c.streams.video[0].average_rate or c.streams.video[0].guessed_rate
        return float(rate) if rate else 30.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("video")
    ap.add_argument("--title", default="Zoom Meeting")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--pos", default="100,80")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.lower().split("x"))
    px, py = (int(v) for v in a.pos.split(","))

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtGui import QImage, QPixmap
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([sys.argv[0]])
    label = QLabel()
    label.setWindowTitle(a.title)
    label.setFixedSize(w, h)
    label.setContentsMargins(0, 0, 0, 0)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    label.move(px, py)

    fps = movie_fps(a.video)
    state = {"it": iter_movie(a.video, w, h), "n": 0, "img": None, "ready": False}

    def next_frame() -> np.ndarray:
        try:
            return next(state["it"])
        except StopIteration:  # loop the movie
            state["it"] = iter_movie(a.video, w, h)
            return next(state["it"])

    def show_next() -> None:
        img = next_frame()
        state["img"] = img  # QImage does not copy: keep the buffer alive
        qimg = QImage(img.data, w, h, 3 * w, QImage.Format.Format_RGB888)
        label.setPixmap(QPixmap.fromImage(qimg))
        state["n"] += 1
        if not state["ready"]:
            state["ready"] = True
            # let the first paint reach the X server before announcing
            QTimer.singleShot(100, lambda: print(f"READY {int(label.winId())}", flush=True))
        elif a.verbose and state["n"] % 30 == 0:
            print(f"FRAME {state['n']} {time.monotonic():.3f}", flush=True)

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(show_next)
    label.show()
    show_next()
    timer.start(max(1, int(round(1000.0 / fps))))
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())

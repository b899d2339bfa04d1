"""The live frame with its overlays.

``LiveView.show_update(update)`` takes a ``LiveUpdate`` from the bridge; the widget keeps the
numpy frame alive as long as the ``QImage`` that wraps it (no copy), scales it to fit (aspect
kept) and draws the overlays chosen with ``set_landmarks`` / ``set_hands``. The hand model does
not run on every frame: the last hands are kept on screen for ``HAND_HOLD_NS`` so they don't flicker.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from interview_guard.core.types import HandObs, Observation
from interview_guard.ui.overlays import ViewMap, draw_faces, draw_hands, draw_label

HAND_HOLD_NS = 200_000_000  # hands run every few frames: keep the last ones this long
BACKGROUND = QColor(30, 33, 36)
PLACEHOLDER_FG = QColor(170, 176, 182)


class LiveView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveView")
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.show_landmarks = True
        self.show_hands = True
        self.placeholder = "No source yet. Choose one (Ctrl+O), then start (Ctrl+R)."
        self.state_text = ""
        self.observation: Observation | None = None
        self.frames_shown = 0
        self._buf: np.ndarray | None = None    # owns the pixels the QImage points at
        self._image: QImage | None = None
        self._hands: tuple[HandObs, ...] = ()
        self._hands_t_ns = -1

    def sizeHint(self) -> QSize:
        return QSize(800, 450)

    # -- input --------------------------------------------------------------------------------
    def set_landmarks(self, on: bool) -> None:
        self.show_landmarks = bool(on)
        self.update()

    def set_hands(self, on: bool) -> None:
        self.show_hands = bool(on)
        self.update()

    def set_state_text(self, text: str) -> None:
        """A small caption in the corner (e.g. 'stopped'); '' hides it."""
        self.state_text = text
        self.update()

    def clear(self) -> None:
        self.observation = None
        self._buf = None
        self._image = None
        self._hands = ()
        self._hands_t_ns = -1
        self.update()

    def show_update(self, update) -> None:
        """Show a ``LiveUpdate`` (or anything with ``.result.observation``)."""
        self.show_observation(update.result.observation)

    def show_observation(self, obs: Observation) -> None:
        img = np.ascontiguousarray(obs.frame.image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            return
        h, w = img.shape[:2]
        self._buf = img
        self._image = QImage(img.data, w, h, img.strides[0], QImage.Format.Format_RGB888)
        if obs.hands_ran:
            self._hands = obs.hands
            self._hands_t_ns = obs.t_ns
        elif self._hands and obs.t_ns - self._hands_t_ns > HAND_HOLD_NS:
            self._hands = ()
        self.observation = obs
        self.frames_shown += 1
        self.update()

    # -- painting -------------------------------------------------------------------------------
    def frame_rect(self) -> QRectF:
        """Where the frame is drawn in widget coordinates (aspect kept, centred)."""
        if self._image is None:
            return QRectF()
        w, h = self._image.width(), self._image.height()
        s = min(self.width() / w, self.height() / h)
        return QRectF((self.width() - w * s) / 2, (self.height() - h * s) / 2, w * s, h * s)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        try:
            p.fillRect(self.rect(), BACKGROUND)
            if self._image is None:
                p.setPen(PLACEHOLDER_FG)
                p.drawText(self.rect().adjusted(20, 20, -20, -20),
                           int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self.placeholder)
                return
            target = self.frame_rect()
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
            vm = ViewMap(target.width() / self._image.width(), target.x(), target.y())
            obs = self.observation
            if obs is not None:
                draw_faces(p, obs.faces, vm, mesh=self.show_landmarks)
                if self.show_hands and self._hands:
                    draw_hands(p, self._hands, vm)
            if self.state_text:
                p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
                draw_label(p, target.topLeft() + QPointF(8, 8), self.state_text, above=False)
        finally:
            p.end()

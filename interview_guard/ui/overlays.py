"""Drawing the perception results over the live frame (QPainter, widget coordinates).

Landmarks arrive in frame pixels; ``ViewMap`` maps them onto the rectangle the frame is drawn
in. Points are drawn without antialiasing in exact colours (``LANDMARK_COLOR`` ...), which
keeps them crisp at any zoom and lets the GUI test find them in a screenshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF

from interview_guard.core.types import FaceObs, HandObs

LANDMARK_COLOR = QColor(0, 229, 255)        # face mesh points (primary face)
LANDMARK_DIM_COLOR = QColor(120, 170, 190)  # other faces
IRIS_COLOR = QColor(255, 255, 255)
OUTLINE_COLOR = QColor(0, 229, 255, 150)    # face oval
BOX_COLOR = QColor(255, 255, 255, 170)
HAND_COLOR = QColor(255, 190, 40)           # hand joints
HAND_BONE_COLOR = QColor(255, 190, 40, 190)
LABEL_BG = QColor(20, 22, 25, 170)
LABEL_FG = QColor(235, 238, 240)

#: MediaPipe hand skeleton (21 landmarks: wrist, then 4 per finger from thumb to little finger).
HAND_CONNECTIONS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 3), (3, 4),
    (0, 5), (5, 6), (6, 7), (7, 8),
    (5, 9), (9, 10), (10, 11), (11, 12),
    (9, 13), (13, 14), (14, 15), (15, 16),
    (13, 17), (17, 18), (18, 19), (19, 20), (0, 17),
)

#: MediaPipe face mesh silhouette (closed loop of landmark indices).
FACE_OVAL: tuple[int, ...] = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)
IRIS_START = 468  # landmarks 468..477 are the two irises (5 points each)


@dataclass(frozen=True)
class ViewMap:
    """Frame pixel → widget coordinate: ``(x, y) * scale + (dx, dy)``."""

    scale: float
    dx: float
    dy: float

    def points(self, xy: np.ndarray) -> QPolygonF:
        m = np.asarray(xy, dtype=np.float64)[:, :2] * self.scale + (self.dx, self.dy)
        return QPolygonF([QPointF(float(x), float(y)) for x, y in m])

    def point(self, x: float, y: float) -> QPointF:
        return QPointF(x * self.scale + self.dx, y * self.scale + self.dy)

    def rect(self, bbox: tuple[float, float, float, float]) -> QRectF:
        x0, y0, x1, y1 = bbox
        return QRectF(self.point(x0, y0), self.point(x1, y1))


def _pen(color: QColor, width: float) -> QPen:
    pen = QPen(color, width)
    pen.setCosmetic(True)
    pen.setCapStyle(Qt.PenCapStyle.SquareCap)
    return pen


def draw_label(p: QPainter, anchor: QPointF, text: str, *, above: bool = True) -> None:
    """A small readable caption (light text on a translucent dark box) at ``anchor``."""
    font = QFont(p.font())
    font.setPointSizeF(max(7.5, font.pointSizeF() * 0.9))
    p.setFont(font)
    fm = QFontMetricsF(font)
    w = fm.horizontalAdvance(text) + 10
    h = fm.height() + 4
    top = anchor.y() - h - 2 if above else anchor.y() + 2
    box = QRectF(anchor.x(), max(0.0, top), w, h)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(LABEL_BG)
    p.drawRoundedRect(box, 3, 3)
    p.setPen(LABEL_FG)
    p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
    p.setBrush(Qt.BrushStyle.NoBrush)


def draw_faces(p: QPainter, faces: tuple[FaceObs, ...], vm: ViewMap, *, mesh: bool = True) -> None:
    """Bounding box and pose caption for each face; with ``mesh`` also its 478 points and outline."""
    for i, face in enumerate(faces):
        primary = i == 0
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(_pen(BOX_COLOR if primary else LANDMARK_DIM_COLOR, 1.0))
        box = vm.rect(face.bbox)
        p.drawRect(box)
        if mesh:
            lm = face.landmarks
            if len(lm) > max(FACE_OVAL):
                p.setPen(_pen(OUTLINE_COLOR if primary else LANDMARK_DIM_COLOR, 1.2))
                p.drawPolygon(vm.points(lm[list(FACE_OVAL)]))
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setPen(_pen(LANDMARK_COLOR if primary else LANDMARK_DIM_COLOR, 2.0))
            p.drawPoints(vm.points(lm[:IRIS_START]))
            if len(lm) > IRIS_START:
                p.setPen(_pen(IRIS_COLOR, 2.0))
                p.drawPoints(vm.points(lm[IRIS_START:]))
        pose = face.pose
        text = (f"yaw {pose.yaw:+.0f}°  pitch {pose.pitch:+.0f}°  roll {pose.roll:+.0f}°"
                f"  ·  {face.size_px:.0f} px")
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        draw_label(p, box.topLeft(), text if primary else f"face {i + 1}: {text}")


def draw_hands(p: QPainter, hands: tuple[HandObs, ...], vm: ViewMap) -> None:
    """The 21 landmarks of each hand joined by the hand skeleton."""
    for hand in hands:
        lm = hand.landmarks
        if len(lm) < 21:
            continue
        pts = vm.points(lm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(_pen(HAND_BONE_COLOR, 2.0))
        for a, b in HAND_CONNECTIONS:
            p.drawLine(pts[a], pts[b])
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(_pen(HAND_COLOR, 5.0))
        p.drawPoints(pts)
        if hand.overlaps_face:
            p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            draw_label(p, vm.rect(hand.bbox).bottomLeft(), f"hand over face {100 * hand.face_overlap:.0f}%",
                       above=False)

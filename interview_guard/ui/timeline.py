"""Evidence per detector over time, with the accumulated risk above it (painted, no animation).

One row per detector: each Evidence is a small block over its time span, orange when it leans
towards an altered picture/voice, blue-grey when it looks genuine, light grey for quality notes.
Above the rows, the risk curve with the level as a background band. Shows the last
``window_s`` seconds (default 5 min), or the whole session when ``window_s`` is 0.
"""

from __future__ import annotations

import collections

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.fusion.cues import Cue, detector_name, fmt_clock
from interview_guard.fusion.engine import RiskSnapshot

BAND = {"green": QColor(226, 240, 228), "amber": QColor(248, 236, 206), "red": QColor(243, 220, 216),
        "inconclusive": QColor(232, 234, 238)}
ROW_H = 16
CURVE_H = 46
LABEL_W = 150
MAX_ITEMS = 20000


class EvidenceTimeline(QWidget):
    def __init__(self, parent: QWidget | None = None, *, window_s: float = 300.0) -> None:
        super().__init__(parent)
        self.setObjectName("evidenceTimeline")
        self.window_s = window_s
        self.items: collections.deque[Evidence] = collections.deque(maxlen=MAX_ITEMS)
        self.snaps: collections.deque[RiskSnapshot] = collections.deque(maxlen=5000)
        self.cues: list[Cue] = []
        self.rows: list[str] = []
        self.h_scale = 9.0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(CURVE_H + 3 * ROW_H + 30)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(380, CURVE_H + max(3, len(self.rows)) * ROW_H + 34)

    def reset(self) -> None:
        self.items.clear()
        self.snaps.clear()
        self.cues.clear()
        self.rows.clear()
        self.update()

    def add_evidence(self, items: list[Evidence]) -> None:
        for e in items:
            self.items.append(e)
            if e.detector not in self.rows:
                self.rows.append(e.detector)
                self.rows.sort(key=lambda d: (d == "face_quality", d))
                self.setMinimumHeight(CURVE_H + max(3, len(self.rows)) * ROW_H + 30)
                self.updateGeometry()
        if items:
            self.update()

    def add_snapshot(self, snap: RiskSnapshot) -> None:
        if not self.snaps or snap.t_ns != self.snaps[-1].t_ns:
            self.snaps.append(snap)
            self.update()

    def add_cue(self, cue: Cue) -> None:
        self.cues.append(cue)
        self.update()

    def set_thresholds(self, h_red: float) -> None:
        self.h_scale = max(1.0, h_red)

    # -- painting ------------------------------------------------------------------------------
    def _t_range(self) -> tuple[float, float]:
        t_max = 0.0
        if self.items:
            t_max = max(t_max, self.items[-1].t_end_ns / NS_PER_S)
        if self.snaps:
            t_max = max(t_max, self.snaps[-1].t_ns / NS_PER_S)
        if self.window_s > 0:
            return max(0.0, t_max - self.window_s), max(t_max, self.window_s if t_max < self.window_s else t_max)
        return 0.0, max(t_max, 10.0)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(255, 255, 255))
        t0, t1 = self._t_range()
        span = max(1e-6, t1 - t0)
        x0, x1 = LABEL_W, self.width() - 8
        xw = max(10, x1 - x0)

        def X(t: float) -> float:
            return x0 + (t - t0) / span * xw

        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        # risk curve with the level band
        top = 6
        p.setPen(QColor(90, 96, 104))
        p.drawText(QRectF(4, top, LABEL_W - 8, CURVE_H), Qt.AlignmentFlag.AlignVCenter, "risk")
        snaps = [s for s in self.snaps if s.t_ns / NS_PER_S >= t0 - 2]
        prev_t = t0
        for s in snaps:
            t = s.t_ns / NS_PER_S
            p.fillRect(QRectF(X(prev_t), top, max(1.0, X(t) - X(prev_t)), CURVE_H), BAND[s.level.value])
            prev_t = t
        if len(snaps) >= 2:
            path = QPainterPath()
            for i, s in enumerate(snaps):
                y = top + CURVE_H - min(1.0, s.score / (2 * self.h_scale)) * CURVE_H
                pt = QPointF(X(s.t_ns / NS_PER_S), y)
                path.moveTo(pt) if i == 0 else path.lineTo(pt)
            p.setPen(QPen(QColor(52, 73, 94), 1.5))
            p.drawPath(path)
        for c in self.cues:
            t = c.t_ns / NS_PER_S
            if t0 <= t <= t1:
                p.setPen(QPen(QColor(110, 110, 110), 1, Qt.PenStyle.DashLine))
                p.drawLine(QPointF(X(t), top), QPointF(X(t), self.height() - 16))
        p.setPen(QColor(210, 213, 218))
        p.drawRect(QRectF(x0, top, xw, CURVE_H))
        # rows
        y = top + CURVE_H + 6
        row_y = {}
        for d in self.rows:
            row_y[d] = y
            p.setPen(QColor(70, 76, 84))
            p.drawText(QRectF(4, y, LABEL_W - 8, ROW_H), Qt.AlignmentFlag.AlignVCenter, detector_name(d))
            p.fillRect(QRectF(x0, y + 2, xw, ROW_H - 4), QColor(247, 248, 250))
            y += ROW_H
        for e in self.items:
            ta, tb = e.t_start_ns / NS_PER_S, e.t_end_ns / NS_PER_S
            if tb < t0 or e.detector not in row_y:
                continue
            if e.kind == "quality":
                col = QColor(196, 202, 210)
            elif e.llr > 0:
                a = min(1.0, e.llr / 2.3)
                col = QColor(int(250 - 40 * a), int(214 - 90 * a), int(160 - 120 * a))
            else:
                a = min(1.0, -e.llr / 1.0)
                col = QColor(int(214 - 60 * a), int(222 - 50 * a), int(236 - 20 * a))
            xa, xb = X(max(ta, t0)), X(tb)
            p.fillRect(QRectF(xa, row_y[e.detector] + 3, max(2.0, xb - xa), ROW_H - 6), col)
        # time axis
        p.setPen(QColor(110, 116, 124))
        p.drawText(QRectF(x0, self.height() - 15, 80, 14), Qt.AlignmentFlag.AlignLeft, fmt_clock(int(t0 * NS_PER_S)))
        p.drawText(QRectF(x1 - 80, self.height() - 15, 80, 14), Qt.AlignmentFlag.AlignRight,
                   fmt_clock(int(t1 * NS_PER_S)))
        if not self.rows and not snaps:
            p.drawText(QRectF(x0, top, xw, CURVE_H), Qt.AlignmentFlag.AlignCenter, "No evidence yet")
        p.end()

"""A calm risk meter: the level in words, a still bar, the current reasons and the next step.

Design rules: nothing flashes or animates; colours are muted; the words propose a check
("Worth a check"), never an accusation. Fed with ``fusion.RiskSnapshot`` (``show_snapshot``)
and ``fusion.Cue`` (``show_cue``) by the main window through the bridge.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from interview_guard.fusion.cues import Cue, Level, fmt_clock
from interview_guard.fusion.engine import RiskSnapshot

ZONE_COLOURS = {  # muted: background of the three zones of the bar
    "green": QColor(214, 232, 216),
    "amber": QColor(244, 228, 190),
    "red": QColor(236, 205, 199),
}
LEVEL_TEXT_COLOURS = {
    Level.GREEN: "#2f6f3e",
    Level.AMBER: "#8a5c14",
    Level.RED: "#8c2f26",
    Level.INCONCLUSIVE: "#4a5563",
}
LEVEL_WORDS = {
    Level.GREEN: "No concerns right now",
    Level.AMBER: "Worth a check",
    Level.RED: "Verify identity another way",
    Level.INCONCLUSIVE: "Cannot judge right now",
}
WAITING = "Waiting for the analysis…"


class MeterBar(QWidget):
    """Three still zones (green / amber / red) and a marker; grey when the tool cannot judge."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskMeterBar")
        self.value = 0.0
        self.greyed = True
        self.setMinimumHeight(18)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        return QSize(240, 18)

    def set_value(self, value: float, greyed: bool) -> None:
        v = max(0.0, min(1.0, float(value)))
        if v != self.value or greyed != self.greyed:
            self.value, self.greyed = v, greyed
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        w = r.width() / 3.0
        for i, name in enumerate(("green", "amber", "red")):
            c = QColor(ZONE_COLOURS[name])
            if self.greyed:
                g = int(0.3 * c.red() + 0.59 * c.green() + 0.11 * c.blue())
                c = QColor(g, g, g)
            p.fillRect(QRectF(r.left() + i * w, r.top(), w, r.height()), c)
        p.setPen(QPen(QColor(190, 194, 199), 1))
        p.drawRect(r)
        x = r.left() + self.value * r.width()
        p.setPen(QPen(QColor(60, 66, 74), 2))
        p.drawLine(int(x), int(r.top() - 2), int(x), int(r.bottom() + 2))
        p.end()


class RiskMeter(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("riskMeter")
        self.setStyleSheet("QFrame#riskMeter { background: #ffffff; border: 1px solid #dfe2e5; border-radius: 6px; }"
                           "QLabel { border: none; }")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(5)
        self.level_label = QLabel(WAITING)
        self.level_label.setObjectName("riskLevel")
        self.level_label.setStyleSheet("font-weight: 600; font-size: 11pt; color: #4a5563;")
        self.bar = MeterBar()
        self.bar.setToolTip("How much evidence has added up. Left: nothing of concern. Middle: worth a check. "
                            "Right: strong signs; verify identity another way.")
        self.reasons = QLabel("")
        self.reasons.setObjectName("riskReasons")
        self.reasons.setWordWrap(True)
        self.reasons.setTextFormat(Qt.TextFormat.PlainText)
        self.reasons.setStyleSheet("color: #30363d;")
        self.next_step = QLabel("")
        self.next_step.setObjectName("riskNextStep")
        self.next_step.setWordWrap(True)
        self.next_step.setTextFormat(Qt.TextFormat.PlainText)
        self.next_step.setStyleSheet("color: #24292e; background: #f3f5f7; border-radius: 4px; padding: 4px 6px;")
        self.since = QLabel("")
        self.since.setObjectName("riskSince")
        self.since.setStyleSheet("color: #6a737d; font-size: 8.5pt;")
        for w in (self.level_label, self.bar, self.reasons, self.next_step, self.since):
            lay.addWidget(w)
        self.level: Level | None = None
        self.snapshot: RiskSnapshot | None = None
        self.next_step.hide()

    def reset(self) -> None:
        self.level = None
        self.snapshot = None
        self.level_label.setText(WAITING)
        self.level_label.setStyleSheet("font-weight: 600; font-size: 11pt; color: #4a5563;")
        self.bar.set_value(0.0, True)
        self.reasons.setText("")
        self.next_step.setText("")
        self.next_step.hide()
        self.since.setText("")

    def show_snapshot(self, snap: RiskSnapshot) -> None:
        self.snapshot = snap
        lv = snap.level
        waiting = lv is Level.INCONCLUSIVE and snap.since_ns == 0
        words = "Not enough seen yet" if waiting else LEVEL_WORDS[lv]
        if self.level is not lv or self.level_label.text() != words:
            self.level_label.setText(words)
            self.level_label.setStyleSheet(f"font-weight: 600; font-size: 11pt; color: {LEVEL_TEXT_COLOURS[lv]};")
        self.level = lv
        self.bar.set_value(snap.meter, greyed=lv is Level.INCONCLUSIVE)
        text = "\n".join(f"• {r}" for r in snap.reasons[:3])
        if self.reasons.text() != text:
            self.reasons.setText(text)
        step = snap.next_step if lv is not Level.GREEN else ""
        if step:
            self.next_step.setText(f"Suggested next step: {step}")
            self.next_step.show()
        else:
            self.next_step.hide()
        self.since.setText(f"since {fmt_clock(snap.since_ns)}" if snap.since_ns else "")

    def show_cue(self, cue: Cue) -> None:
        """A level change (the snapshot that follows carries the same words)."""
        self.show_snapshot(RiskSnapshot(cue.t_ns, cue.level, cue.score,
                                        self.snapshot.meter if self.snapshot else 0.0, cue.headline, cue.reasons,
                                        cue.next_step, 0.0, cue.t_ns))

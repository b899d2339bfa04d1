"""The list of cues and quality notes, newest first, each with its plain-language reason.

A calm list: quality notes ("the face is too blurred to check") are grey-blue, risk cues a
muted amber; nothing flashes and nothing is red. The caption above it says what a cue is: a
reason to verify, never an accusation.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from interview_guard.core.types import NS_PER_S, Evidence

CAPTION = ("A cue is a reason to verify — for example ask the candidate to turn their head or wave a "
           "hand in front of the face — never an accusation.")
EMPTY_TEXT = "Nothing to note yet."
QUALITY_COLOR = QColor(70, 86, 104)     # slate: "the tool can't judge right now"
RISK_COLOR = QColor(138, 92, 20)        # muted amber: "worth a check"
SEPARATOR_COLOR = QColor(120, 126, 132)
MAX_ROWS = 500

ROLE_EVIDENCE = Qt.ItemDataRole.UserRole + 1


def format_time(t_ns: int) -> str:
    s = max(0, int(t_ns // NS_PER_S))
    return f"{s // 60}:{s % 60:02d}"


def kind_label(ev: Evidence) -> str:
    if ev.kind == "quality":
        return "Quality note"
    if ev.llr > 0:
        return "Worth checking"
    return "Looks consistent"


class EvidenceList(QWidget):
    """Caption + list. ``add_evidence(list)`` appends; ``evidence_rows()`` counts real rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evidencePanel")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        title = QLabel("What the checks noticed")
        title.setObjectName("panelTitle")
        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("evidenceCaption")
        self.caption.setWordWrap(True)
        self.list = QListWidget()
        self.list.setObjectName("evidenceList")
        self.list.setWordWrap(True)
        self.list.setUniformItemSizes(False)
        self.list.setAlternatingRowColors(False)
        self.list.setSelectionMode(QListWidget.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.list.setToolTip("Newest first. Hover a row for the numbers behind it.")
        lay.addWidget(title)
        lay.addWidget(self.caption)
        lay.addWidget(self.list, 1)
        self._empty: QListWidgetItem | None = None
        self._show_empty()

    # -- rows ---------------------------------------------------------------------------------------
    def _show_empty(self) -> None:
        self._empty = QListWidgetItem(EMPTY_TEXT)
        self._empty.setFlags(Qt.ItemFlag.NoItemFlags)
        self._empty.setForeground(QBrush(SEPARATOR_COLOR))
        self.list.addItem(self._empty)

    def _drop_empty(self) -> None:
        if self._empty is not None:
            self.list.takeItem(self.list.row(self._empty))
            self._empty = None

    def add_separator(self, text: str) -> None:
        """A non-selectable header row, e.g. when a new source starts."""
        self._drop_empty()
        item = QListWidgetItem(f"— {text} —")
        item.setFlags(Qt.ItemFlag.NoItemFlags)
        item.setForeground(QBrush(SEPARATOR_COLOR))
        item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
        self.list.insertItem(0, item)

    def add_evidence(self, items: list[Evidence]) -> None:
        if not items:
            return
        self._drop_empty()
        for ev in items:
            span = format_time(ev.t_start_ns)
            if ev.t_end_ns - ev.t_start_ns >= NS_PER_S:
                span += f"–{format_time(ev.t_end_ns)}"
            item = QListWidgetItem(f"{span}   {kind_label(ev)}\n{ev.reason}")
            item.setData(ROLE_EVIDENCE, ev)
            item.setForeground(QBrush(QUALITY_COLOR if ev.kind == "quality" else RISK_COLOR))
            nums = ", ".join(f"{k} = {v:.2f}" if isinstance(v, float) else f"{k} = {v}"
                             for k, v in ev.details.items())
            item.setToolTip(f"{ev.detector}" + (f" · {ev.code}" if ev.code else "")
                            + f" · llr {ev.llr:+.2f} · input quality {ev.quality:.2f}"
                            + (f"\n{nums}" if nums else ""))
            self.list.insertItem(0, item)
        while self.list.count() > MAX_ROWS:
            self.list.takeItem(self.list.count() - 1)

    def evidence_rows(self) -> int:
        """How many rows hold an Evidence (separators and the empty note excluded)."""
        return sum(1 for i in range(self.list.count()) if self.list.item(i).data(ROLE_EVIDENCE) is not None)

    def evidence_items(self) -> list[Evidence]:
        return [ev for i in range(self.list.count()) if (ev := self.list.item(i).data(ROLE_EVIDENCE)) is not None]

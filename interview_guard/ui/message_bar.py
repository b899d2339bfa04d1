"""An in-window message strip (like a browser info bar): errors and offers without modal dialogs.

Levels: ``info`` (calm blue-grey) and ``warning`` (soft amber). Optional action buttons call
back and hide the bar. Nothing blinks; the bar stays until dismissed or replaced.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget


class MessageBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setProperty("level", "info")
        self._lay = QHBoxLayout(self)
        self._lay.setContentsMargins(10, 6, 6, 6)
        self.label = QLabel()
        self.label.setObjectName("messageText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._lay.addWidget(self.label, 1)
        self._buttons: list[QPushButton] = []
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        self._close = close
        self._lay.addWidget(close)
        self.level = "info"
        self.hide()

    def show_message(self, text: str, *, level: str = "info",
                     actions: list[tuple[str, Callable[[], None]]] | None = None) -> None:
        for b in self._buttons:
            self._lay.removeWidget(b)
            b.deleteLater()
        self._buttons = []
        for i, (label, fn) in enumerate(actions or []):
            b = QPushButton(label)
            b.clicked.connect(lambda _=False, fn=fn: (self.dismiss(), fn()))
            self._lay.insertWidget(1 + i, b)
            self._buttons.append(b)
        self.level = level
        self.label.setText(text)
        self.setProperty("level", level)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def dismiss(self) -> None:
        self.hide()

    @property
    def text(self) -> str:
        return "" if self.isHidden() else self.label.text()

"""The one-time consent notice the interviewer must acknowledge before anything is recorded.

The text comes from ``consent.txt`` in the settings folder (``recording.settings``), so a
company can replace it with its policy; acknowledging stores the text's sha256, so a changed
text is shown again.

``ConsentPanel`` is embedded at the top of the main window's side panel while the notice is
not acknowledged (it takes no focus and opens no window, so it never interrupts the call); the
segment recorder stays off until the box is ticked and "Acknowledge" pressed. ``ConsentDialog``
shows the same notice in its own window (e.g. from a settings menu).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDialog, QFrame, QHBoxLayout, QLabel, QPushButton, QTextBrowser,
                               QVBoxLayout, QWidget)

from interview_guard.recording.settings import acknowledge_consent, consent_needed, consent_path, consent_text

CHECK_TEXT = "I have told the candidate that this call is analysed and that short moments may be recorded."


class ConsentDialog(QDialog):
    acknowledged = Signal()

    def __init__(self, parent: QWidget | None = None, *, config_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consentDialog")
        self.setWindowTitle("Before you start: recording notice")
        self.setModal(False)
        self.config_dir = config_dir
        lay = QVBoxLayout(self)
        self.text = QTextBrowser()
        self.text.setObjectName("consentText")
        self.text.setOpenExternalLinks(False)
        self.text.setPlainText(consent_text(config_dir))
        self.where = QLabel(f"Your organisation can change this text: {consent_path(config_dir)}")
        self.where.setWordWrap(True)
        self.where.setStyleSheet("color: #6a737d; font-size: 8.5pt;")
        self.where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check = QCheckBox(CHECK_TEXT)
        self.check.setObjectName("consentCheck")
        self.ok = QPushButton("Acknowledge and allow recording")
        self.ok.setObjectName("consentOk")
        self.ok.setEnabled(False)
        self.later = QPushButton("Not now (no recording)")
        self.check.toggled.connect(self.ok.setEnabled)
        self.ok.clicked.connect(self.accept_notice)
        self.later.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.later)
        row.addWidget(self.ok)
        for w in (self.text, self.where, self.check):
            lay.addWidget(w)
        lay.addLayout(row)
        self.resize(560, 460)

    def accept_notice(self) -> None:
        if not self.check.isChecked():
            return
        acknowledge_consent(self.config_dir)
        self.acknowledged.emit()
        self.accept()


class _ClickLabel(QLabel):
    """The checkbox's sentence, wrapped; a click on it ticks the box."""

    def __init__(self, text: str, box: QCheckBox) -> None:
        super().__init__(text)
        self._box = box

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt name
        self._box.toggle()


class ConsentPanel(QFrame):
    """The notice inside the main window; hides itself once acknowledged."""

    acknowledged = Signal()

    def __init__(self, parent: QWidget | None = None, *, config_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("consentPanel")
        self.setStyleSheet("QFrame#consentPanel { background: #fbf7ec; border: 1px solid #e6d9b5; border-radius: 6px; }"
                           "QLabel { border: none; background: transparent; }")
        self.config_dir = config_dir
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.setSpacing(4)
        title = QLabel("Recording notice — please read once")
        title.setStyleSheet("font-weight: 600; color: #5c4a1a;")
        self.text = QTextBrowser()
        self.text.setObjectName("consentText")
        self.text.setPlainText(consent_text(config_dir))
        self.text.setMaximumHeight(110)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.check = QCheckBox()
        self.check.setObjectName("consentCheck")
        self.check.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.check.setToolTip(CHECK_TEXT)
        check_text = _ClickLabel(CHECK_TEXT, self.check)
        check_text.setWordWrap(True)
        self.ok = QPushButton("Acknowledge")
        self.ok.setObjectName("consentOk")
        self.ok.setEnabled(False)
        self.ok.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.check.toggled.connect(self.ok.setEnabled)
        self.ok.clicked.connect(self.accept_notice)
        row = QHBoxLayout()
        row.addWidget(self.check, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(check_text, 1)
        row2 = QHBoxLayout()
        hint = QLabel("Until then nothing is recorded; the checks still run.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #6a737d; font-size: 8.5pt;")
        row2.addWidget(hint, 1)
        row2.addWidget(self.ok)
        for w in (title, self.text):
            lay.addWidget(w)
        lay.addLayout(row)
        lay.addLayout(row2)
        self.setVisible(consent_needed(config_dir))

    def accept_notice(self) -> None:
        if not self.check.isChecked():
            return
        acknowledge_consent(self.config_dir)
        self.hide()
        self.acknowledged.emit()


def needs_consent(config_dir: Path | None = None) -> bool:
    return consent_needed(config_dir)

"""The challenge panel: a Challenge button (Ctrl+K), the sentence to read aloud, a countdown with a
progress ring, then passed / failed / inconclusive with plain-language reasons.

Self-contained: it drives a ``challenges.runner.ChallengeRunner`` (pure Python, called by the
analysis worker per observation) and reads its ``snapshot()`` on a 10 Hz timer while a challenge
is active; it never waits on the analysis. Wiring in a main window (see the module's
``WIRING`` string) is: build the runner, install it into the analyzer factory, add the panel and
its action, and enable it while a session runs.

Calm look as the rest of the app: a failed check is muted amber, never red; the caption says a
failed check is a reason to verify, not an accusation.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QKeySequence, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout,
                               QWidget)

from interview_guard.challenges.protocol import HAND_WAVE, HEAD_TURN
from interview_guard.challenges.result import FAILED, INCONCLUSIVE, PASSED
from interview_guard.challenges.runner import ChallengeRunner, RunnerStatus
from interview_guard.challenges.state import Phase

SHORTCUT = "Ctrl+K"
TYPE_NAMES = {HAND_WAVE: "Hand wave", HEAD_TURN: "Head turn"}
RESULT_TEXT = {PASSED: "Passed", FAILED: "Did not pass", INCONCLUSIVE: "Inconclusive"}
RESULT_COLOR = {PASSED: "#2f6b45", FAILED: "#8a5c14", INCONCLUSIVE: "#465668"}
CAPTION = "Routine check for every candidate. A check that does not pass is a reason to verify, never an accusation."
IDLE_TEXT = "Press Challenge (Ctrl+K) and read the instruction aloud to the candidate."
NO_SESSION_TEXT = "Start the analysis of the call first; then press Challenge (Ctrl+K)."

WIRING = """
In MainWindow.__init__ (before the first session starts):

    from interview_guard.challenges.runner import ChallengeRunner, with_runner
    from interview_guard.pipeline.live import default_analyzer
    from interview_guard.ui.challenge_panel import ChallengePanel

    self.challenge_runner = ChallengeRunner()
    self.analyzer_factory = with_runner(analyzer_factory or default_analyzer, self.challenge_runner)

In _build_ui (side panel, above the evidence list) and the toolbar:

    self.challenge_panel = ChallengePanel(self.challenge_runner)
    side_lay.addWidget(self.challenge_panel)
    tb.addAction(self.challenge_panel.challenge_action)
    self.addAction(self.challenge_panel.challenge_action)        # Ctrl+K anywhere in the window

And the session life:

    self.bridge.started.connect(lambda: self.challenge_panel.set_session_active(True))
    self.bridge.finished.connect(lambda: self.challenge_panel.set_session_active(False))
"""


class ProgressRing(QWidget):
    """A ring that fills with ``progress`` (0..1) and shows ``text`` in the middle."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("challengeRing")
        self.progress = 0.0
        self.text = ""
        self.color = QColor("#3b6ea5")
        self.setFixedSize(76, 76)

    def set_state(self, progress: float, text: str, color: str | None = None) -> None:
        self.progress = max(0.0, min(1.0, float(progress)))
        self.text = text
        if color:
            self.color = QColor(color)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(6, 6, self.width() - 12, self.height() - 12)
        pen = QPen(QColor("#dfe2e5"), 7)
        p.setPen(pen)
        p.drawEllipse(r)
        if self.progress > 0:
            pen = QPen(self.color, 7)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            p.setPen(pen)
            p.drawArc(r, 90 * 16, -int(round(self.progress * 360 * 16)))
        p.setPen(QColor("#24292e"))
        f = QFont(self.font())
        f.setPointSizeF(max(8.0, f.pointSizeF() * 1.3))
        f.setBold(True)
        p.setFont(f)
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.text)
        p.end()


class ChallengePanel(QFrame):
    """Challenge button + type choice, instruction, countdown ring, result with reasons."""

    #: a challenge was requested (its type)
    challenge_started = Signal(str)
    #: a challenge finished (``challenges.result.ChallengeResult``)
    challenge_finished = Signal(object)

    def __init__(self, runner: ChallengeRunner | None = None, parent: QWidget | None = None, *,
                 poll_ms: int = 100) -> None:
        super().__init__(parent)
        self.setObjectName("challengePanel")
        self.runner = runner
        self._session_active = False
        self._seen_seq = -1
        self._last_status: RunnerStatus | None = None
        self._routine = [HAND_WAVE, HEAD_TURN]
        self.last_result = None
        self.setStyleSheet(
            "QFrame#challengePanel { background: #ffffff; border: 1px solid #dfe2e5; border-radius: 6px; }"
            "QLabel#challengeInstruction { color: #1f2428; font-size: 11pt; }"
            "QLabel#challengePhase { color: #3a4148; font-weight: 600; }"
            "QLabel#challengeCaption { color: #59616a; font-style: italic; }"
            "QLabel#challengeReasons { color: #3a4148; }")

        self.challenge_action = QAction("Challenge", self)
        self.challenge_action.setShortcut(QKeySequence(SHORTCUT))
        self.challenge_action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.challenge_action.setToolTip(f"Ask the candidate for a quick camera check ({SHORTCUT})")
        self.challenge_action.triggered.connect(lambda: self.start_challenge())

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.setSpacing(6)
        title = QLabel("Camera check")
        title.setObjectName("panelTitle")
        lay.addWidget(title)

        row = QHBoxLayout()
        self.type_box = QComboBox()
        self.type_box.setObjectName("challengeType")
        for k in self._routine:
            self.type_box.addItem(TYPE_NAMES[k], k)
        self.type_box.setToolTip("Which check to ask for; after each one the next in the routine is selected.")
        self.button = QPushButton(f"Challenge ({SHORTCUT})")
        self.button.setObjectName("challengeButton")
        self.button.clicked.connect(self.challenge_action.trigger)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("challengeCancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.type_box)
        row.addWidget(self.button, 1)
        row.addWidget(self.cancel_button)
        lay.addLayout(row)

        body = QHBoxLayout()
        self.ring = ProgressRing()
        body.addWidget(self.ring, 0, Qt.AlignmentFlag.AlignTop)
        texts = QVBoxLayout()
        self.phase_label = QLabel("")
        self.phase_label.setObjectName("challengePhase")
        self.instruction_label = QLabel(IDLE_TEXT)
        self.instruction_label.setObjectName("challengeInstruction")
        self.instruction_label.setWordWrap(True)
        self.instruction_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label = QLabel("")
        self.result_label.setObjectName("challengeResult")
        self.reasons_label = QLabel("")
        self.reasons_label.setObjectName("challengeReasons")
        self.reasons_label.setWordWrap(True)
        for w in (self.phase_label, self.instruction_label, self.result_label, self.reasons_label):
            w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            texts.addWidget(w)
        body.addLayout(texts, 1)
        lay.addLayout(body)
        self.caption = QLabel(CAPTION)
        self.caption.setObjectName("challengeCaption")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)

        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.refresh)
        self._update_controls()

    # -- control --------------------------------------------------------------------------------
    def set_runner(self, runner: ChallengeRunner | None) -> None:
        self.runner = runner
        self._update_controls()

    def set_session_active(self, active: bool) -> None:
        """Enable the Challenge button while a session is analysed (connect to the bridge)."""
        self._session_active = bool(active)
        if not active and self.runner is not None and self.runner.snapshot().active:
            self.runner.cancel()
        if not active:
            self._timer.stop()
            self.refresh()
        elif self.instruction_label.text() == NO_SESSION_TEXT:
            self.instruction_label.setText(IDLE_TEXT)
        self._update_controls()

    @property
    def active(self) -> bool:
        return self.runner is not None and self.runner.snapshot().active

    def selected_type(self) -> str:
        return str(self.type_box.currentData())

    def start_challenge(self, kind: str | None = None) -> bool:
        """Request a challenge (``kind`` or the selected type). False when it cannot start now."""
        if self.runner is None or not self._session_active or self.active:
            if not self._session_active and self.runner is not None:
                self.instruction_label.setText(NO_SESSION_TEXT)
            return False
        kind = kind or self.selected_type()
        try:
            self.runner.request(kind)
        except RuntimeError:
            return False
        self.last_result = None
        self.challenge_started.emit(kind)
        self._timer.start()
        self.refresh()
        return True

    def cancel(self) -> None:
        if self.runner is not None:
            self.runner.cancel()
        self.refresh()

    def on_update(self, _update=None) -> None:
        """Optional slot for ``SessionBridge.update``: refresh with every analysed frame."""
        if self.active or self._timer.isActive():
            self.refresh()

    # -- display -----------------------------------------------------------------------------------
    def refresh(self) -> None:
        if self.runner is None:
            return
        st = self.runner.snapshot()
        self._last_status = st
        ph = st.phase
        name = TYPE_NAMES.get(st.kind or "", "Check")
        if ph in (Phase.ARMED, Phase.COUNTDOWN):
            self.phase_label.setText(f"{name}: read this aloud now")
            self.instruction_label.setText(f"“{st.instruction}”")
            self.ring.set_state(st.progress if ph is Phase.COUNTDOWN else 0.0, f"{math.ceil(st.seconds_left)}",
                                "#8a97a6")
            self._clear_result()
        elif ph is Phase.WINDOW:
            self.phase_label.setText(f"{name}: watching — {math.ceil(st.seconds_left)} s left")
            self.instruction_label.setText(f"“{st.instruction}”")
            self.ring.set_state(st.progress, f"{math.ceil(st.seconds_left)}", "#3b6ea5")
            self._clear_result()
        elif ph is Phase.SCORING:
            self.phase_label.setText(f"{name}: scoring…")
            self.ring.set_state(1.0, "…", "#3b6ea5")
        elif ph is Phase.DONE and st.result is not None:
            self._show_result(st)
        elif ph is Phase.CANCELLED:
            self.phase_label.setText(f"{name}: cancelled")
            self.ring.set_state(0.0, "")
            self._timer.stop()
        else:
            self._timer.stop()
        self._update_controls()

    def _show_result(self, st: RunnerStatus) -> None:
        res = st.result
        name = TYPE_NAMES.get(st.kind or "", "Check")
        color = RESULT_COLOR.get(res.result, "#465668")
        self.phase_label.setText(f"{name}: done")
        self.ring.set_state(1.0, {"passed": "✓", "failed": "!", "inconclusive": "?"}.get(res.result, ""), color)
        self.result_label.setText(RESULT_TEXT.get(res.result, res.result))
        self.result_label.setStyleSheet(f"color: {color}; font-weight: 700; font-size: 11pt;")
        self.reasons_label.setText(res.reason)
        self._timer.stop()
        if st.seq != self._seen_seq:
            self._seen_seq = st.seq
            self.last_result = res
            # the next check of the routine is pre-selected
            i = self._routine.index(st.kind) if st.kind in self._routine else -1
            self.type_box.setCurrentIndex((i + 1) % len(self._routine))
            self.challenge_finished.emit(res)

    def _clear_result(self) -> None:
        if self.result_label.text():
            self.result_label.setText("")
            self.reasons_label.setText("")

    def _update_controls(self) -> None:
        active = self.active
        can = self.runner is not None and self._session_active and not active
        self.challenge_action.setEnabled(can)
        self.button.setEnabled(can)
        self.type_box.setEnabled(not active)
        self.cancel_button.setVisible(active)
        self.cancel_button.setEnabled(active)

"""The challenge panel, offscreen: Challenge (button and Ctrl+K) shows the sentence to read aloud,
a countdown and a progress ring while a recorded window's observations are fed to the runner (as
the analysis worker would), then the result with its reasons. A Qt warning fails a test."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QMainWindow  # noqa: E402

from interview_guard.challenges.protocol import HAND_WAVE, HEAD_TURN, Timing  # noqa: E402
from interview_guard.challenges.runner import ChallengeRunner  # noqa: E402
from interview_guard.challenges.state import Phase  # noqa: E402
from interview_guard.ui.challenge_panel import SHORTCUT, WIRING, ChallengePanel  # noqa: E402
from tests.unit.challenge_synthetic import wave_observations  # noqa: E402

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
]

TIMING = {HAND_WAVE: Timing(2.0, 5.9), HEAD_TURN: Timing(2.0, 5.0)}


@pytest.fixture
def host(qtbot):
    """A window wired as the module's WIRING says (runner + panel + its action)."""
    win = QMainWindow()
    runner = ChallengeRunner(seed=6, timing=TIMING)            # seed 6: a two-pass hand wave first
    panel = ChallengePanel(runner, poll_ms=20)
    win.setCentralWidget(panel)
    win.addAction(panel.challenge_action)
    qtbot.addWidget(win)
    win.resize(520, 360)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win, panel, runner


def test_wiring_is_documented():
    for needle in ("with_runner", "ChallengePanel(self.challenge_runner)", "set_session_active",
                   "addAction(self.challenge_panel.challenge_action)"):
        assert needle in WIRING


def test_challenge_needs_a_session(host, qtbot):
    win, panel, runner = host
    assert not panel.button.isEnabled() and not panel.challenge_action.isEnabled()
    assert panel.start_challenge() is False and runner.snapshot().phase is Phase.IDLE
    panel.set_session_active(True)
    assert panel.button.isEnabled() and SHORTCUT in panel.button.text()


def test_press_challenge_feed_a_recorded_window_and_see_the_result(host, qtbot):
    win, panel, runner = host
    panel.set_session_active(True)
    qtbot.mouseClick(panel.button, Qt.MouseButton.LeftButton)
    st = runner.snapshot()
    assert st.phase is Phase.ARMED and st.kind == HAND_WAVE
    prompt = st.prompt
    # the sentence to read aloud is on screen before the first frame arrives
    assert prompt.instruction() in panel.instruction_label.text()
    assert "read this aloud" in panel.phase_label.text()
    assert not panel.button.isEnabled() and panel.cancel_button.isVisible()

    # the recorded window: a real hand passing as the prompt asks (constructed observations)
    obs = wave_observations(first_dx=prompt.image_dx_sign, passes=prompt.passes, baseline_s=2.0, window_s=6.0,
                            t0_s=50.0)
    seen_countdown, seen_window, rings = set(), False, []
    for o in obs:
        ev = runner.observe(o)                      # what the analysis worker does per frame
        panel.on_update()
        qtbot.wait(1)
        ph = runner.snapshot().phase
        if ph is Phase.COUNTDOWN:
            seen_countdown.add(panel.ring.text)
            assert "read this aloud" in panel.phase_label.text()
        elif ph is Phase.WINDOW:
            seen_window = seen_window or "watching" in panel.phase_label.text()
            rings.append(panel.ring.progress)
        if ev is not None:
            assert ev.detector == "challenge_hand_wave"
    assert {"2", "1"} <= seen_countdown, seen_countdown
    assert seen_window and rings and rings[-1] > rings[0]
    qtbot.waitUntil(lambda: panel.result_label.text() != "", timeout=2000)
    assert panel.result_label.text() == "Passed", panel.reasons_label.text()
    assert "hand" in panel.reasons_label.text()
    assert panel.last_result is runner.results[-1]
    # the routine moves on to the head turn; the button is free again
    assert panel.selected_type() == HEAD_TURN
    assert panel.button.isEnabled() and not panel.cancel_button.isVisible()
    win.grab()                                       # renders without warnings


def test_shortcut_starts_and_cancel_stops(host, qtbot):
    win, panel, runner = host
    panel.set_session_active(True)
    panel.type_box.setCurrentIndex(1)
    QTest.keyClick(win, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    assert runner.snapshot().phase is Phase.ARMED and runner.snapshot().kind == HEAD_TURN
    assert "turn your head" in panel.instruction_label.text()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    obs = wave_observations(hand=False)
    runner.observe(obs[0])
    panel.refresh()
    assert runner.snapshot().phase is Phase.CANCELLED and "cancelled" in panel.phase_label.text()
    assert panel.button.isEnabled()
    # the session ending disables the button
    panel.set_session_active(False)
    assert not panel.button.isEnabled()

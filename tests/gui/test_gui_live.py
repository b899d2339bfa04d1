"""The desktop app, offscreen: live view on a recording, shortcuts, overlays, counters, evidence,
errors shown in the UI (never raised), the picker's refresh, and ``run_gui``'s timed mode.

Runs with ``QT_QPA_PLATFORM=offscreen`` (set here, before Qt is imported). A Qt warning fails
a test (``qt_log_level_fail``); the offscreen plugin's harmless propagateSizeHints note is ignored.
Set ``IG_GUI_SCREENSHOT_DIR`` to keep copies of the screenshots for a look by eye.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import re  # noqa: E402
import shutil  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QPushButton  # noqa: E402

from interview_guard.capture.base import VideoSource  # noqa: E402
from interview_guard.core.errors import IGError, ModelError  # noqa: E402
from interview_guard.core.types import Evidence, Observation, SourceEvent, SourceEventKind, VideoFrame  # noqa: E402
from interview_guard.pipeline.analyzer import StepResult  # noqa: E402
from interview_guard.ui.app import apply_style, run_gui  # noqa: E402
from interview_guard.ui.main_window import LOCAL_NOTICE, MainWindow  # noqa: E402
from interview_guard.ui.overlays import LANDMARK_COLOR  # noqa: E402
from interview_guard.ui.source_picker import SourcePicker  # noqa: E402
from tests.helpers.corpus import corpus_root  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "assets" / "demo_interview.mp4"
CORPUS_CLIP = "video_real/dfl_Keanu_Reeves_0_real_left.mp4"
SESSION_THREADS = ("ig-capture", "ig-analysis")

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
]


# -- helpers ----------------------------------------------------------------------------------------

def clip_spec() -> tuple[str, bool]:
    """``(spec, is_demo)``: the demo clip if it was built, else a corpus clip with a face."""
    if DEMO.is_file():
        return "demo", True
    clip = corpus_root() / CORPUS_CLIP
    if not clip.is_file():
        pytest.skip(f"neither {DEMO} nor the corpus clip {clip} exists")
    return f"file:{clip}", False


def session_threads_alive() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name in SESSION_THREADS and t.is_alive()]


def keep_copy(path: Path) -> None:
    out = os.environ.get("IG_GUI_SCREENSHOT_DIR")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(out) / path.name)


def png_rgb(path: Path) -> np.ndarray:
    img = QImage(str(path))
    assert not img.isNull(), f"{path} is not a readable PNG"
    return qimage_rgb(img)


def qimage_rgb(img: QImage) -> np.ndarray:
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, : w * 3].reshape(h, w, 3).copy()


def colour_pixels(rgb: np.ndarray, colour, tol: int = 8) -> int:
    ref = np.array([colour.red(), colour.green(), colour.blue()], dtype=np.int16)
    return int(np.all(np.abs(rgb.astype(np.int16) - ref) <= tol, axis=2).sum())


def analysed(win: MainWindow) -> int:
    m = re.fullmatch(r"(\d+) of (\d+) frames", win.counters.analysed.text())
    return int(m.group(1)) if m else 0


def fps_shown(win: MainWindow) -> float | None:
    m = re.fullmatch(r"(\d+(?:\.\d+)?) fps", win.counters.fps.text())
    return float(m.group(1)) if m else None


@pytest.fixture
def window(qtbot):
    win = MainWindow()
    apply_style(QApplication.instance())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    yield win
    win.shutdown()
    assert session_threads_alive() == []


# -- the live session on a recording -------------------------------------------------------------------

def test_live_view_on_recording(qtbot, window, tmp_path):
    win = window
    spec, is_demo = clip_spec()
    assert "Ctrl+R" in win.start_action.toolTip()
    assert "Ctrl+." in win.stop_action.toolTip() and "Esc" in win.stop_action.toolTip()
    assert win.local_notice.text() == LOCAL_NOTICE and win.local_notice.isVisible()
    assert win.recording_indicator.isVisible()
    assert "verify" in win.evidence_list.caption.text() and "never an accusation" in win.evidence_list.caption.text()

    win.set_source(spec)
    QTest.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)      # start: Ctrl+R
    assert win.running, "Ctrl+R did not start the session"

    # models load on the worker thread, then the counters run (the UI never waits)
    qtbot.waitUntil(lambda: analysed(win) >= 30 and (fps_shown(win) or 0) > 0
                    and win.live_view.observation is not None and bool(win.live_view.observation.faces),
                    timeout=120_000)
    first = analysed(win)
    assert fps_shown(win) > 0
    assert win.counters.latency.text().endswith("ms)")

    # overlays on: the face mesh is drawn in its own colour
    assert win.landmarks_box.isChecked() and win.hands_box.isChecked()
    shot = tmp_path / "live_view_overlays.png"
    assert win.live_view.grab().save(str(shot), "PNG")
    keep_copy(shot)
    rgb = png_rgb(shot)
    assert rgb.shape[0] > 100 and rgb.shape[1] > 100
    assert rgb.reshape(-1, 3).std(axis=0).max() > 10, "the live view screenshot is (nearly) one colour"
    assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 500
    with_mesh = colour_pixels(rgb, LANDMARK_COLOR)
    assert with_mesh >= 100, f"only {with_mesh} landmark-coloured pixels: the face mesh overlay was not drawn"

    # L toggles the mesh off (checkbox follows), and on again
    QTest.keyClick(win, Qt.Key.Key_L)
    assert not win.landmarks_box.isChecked() and not win.live_view.show_landmarks
    off = tmp_path / "live_view_no_mesh.png"
    assert win.live_view.grab().save(str(off), "PNG")
    without_mesh = colour_pixels(png_rgb(off), LANDMARK_COLOR)
    assert without_mesh < with_mesh / 5, (with_mesh, without_mesh)
    QTest.keyClick(win, Qt.Key.Key_L)
    assert win.landmarks_box.isChecked()
    QTest.keyClick(win, Qt.Key.Key_H)
    assert not win.hands_box.isChecked() and not win.live_view.show_hands
    QTest.keyClick(win, Qt.Key.Key_H)
    assert win.hands_box.isChecked()

    full = tmp_path / "main_window.png"
    assert win.grab().save(str(full), "PNG")
    keep_copy(full)

    # the evidence list: the demo has a blurred / absent / frozen stretch → at least one quality note
    assert win.evidence_list.list.isVisible()
    if is_demo:
        def quality_notes():
            return [e for e in win.evidence_list.evidence_items() if e.kind == "quality"]

        qtbot.waitUntil(lambda: len(quality_notes()) >= 1, timeout=120_000)
        ev = quality_notes()[0]
        assert ev.reason
        rows = [win.evidence_list.list.item(i).text() for i in range(win.evidence_list.list.count())]
        assert any(ev.reason in r for r in rows)
        shot2 = tmp_path / "main_window_evidence.png"
        assert win.grab().save(str(shot2), "PNG")
        keep_copy(shot2)
    else:
        qtbot.waitUntil(lambda: analysed(win) > first, timeout=30_000)

    # stop with Ctrl+. ; the threads are joined, what was analysed stays on screen
    QTest.keyClick(win, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not win.running, timeout=30_000)
    assert session_threads_alive() == []
    assert win.live_view.observation is not None and analysed(win) > 0
    assert "Stopped" in win.status_line.text()
    assert not win.message_bar.isVisible(), win.message_bar.text

    # Ctrl+R again, then Esc stops it too
    QTest.keyClick(win, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert win.running
    qtbot.waitUntil(lambda: win.live_view.state_text == "" and analysed(win) > 0, timeout=120_000)
    QTest.keyClick(win, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not win.running, timeout=30_000)
    assert session_threads_alive() == []


# -- errors appear in the UI, never as exceptions ----------------------------------------------------------

@pytest.fixture
def x_display(monkeypatch):
    """A private Xvfb as $DISPLAY when possible (the real 'no such window' path), else no display."""
    try:
        from tests.helpers.xvfb import XvfbServer

        server = XvfbServer().start()
    except Exception:  # noqa: BLE001 - no Xvfb: the 'no display' error is just as good for this test
        monkeypatch.delenv("DISPLAY", raising=False)
        yield None
        return
    monkeypatch.setenv("DISPLAY", server.display)
    try:
        yield server.display
    finally:
        server.stop()


def test_unknown_window_shows_error_in_ui(qtbot, window, x_display):
    win = window
    spec = "window:No Such Call Window 7f3a"
    from interview_guard.capture.factory import open_video_source

    with pytest.raises(IGError) as ei:
        open_video_source(spec).close()
    expected = str(ei.value)

    assert win.start_source(spec) is False          # no exception
    assert not win.running and session_threads_alive() == []
    assert win.message_bar.isVisible()
    text = win.message_bar.text
    assert text.startswith("Cannot open window “No Such Call Window 7f3a”")
    assert expected in text
    assert text in win.status_line.text()
    assert win.start_action.isEnabled()             # the user can fix it and retry


def test_model_failure_at_start_shows_message(qtbot, window):
    win = window
    spec, _ = clip_spec()

    def broken_models():
        raise ModelError("model file face_landmarker.task does not match its sha256",
                         hint="restore it with `git checkout -- models/`")

    win.analyzer_factory = broken_models
    assert win.start_source(spec) is True
    qtbot.waitUntil(lambda: not win.running, timeout=30_000)
    assert session_threads_alive() == []
    text = win.message_bar.text
    assert text.startswith("The analysis could not start: model file face_landmarker.task does not match")
    assert "git checkout -- models/" in text


class _FakeAnalyzer:
    """Fast stand-in for the Analyzer: one quality note on frame 3, no faces."""

    def __init__(self) -> None:
        self.n = 0

    def on_frame(self, frame: VideoFrame, *, want_hands=None) -> StepResult:
        self.n += 1
        obs = Observation(frame=frame, faces=(), hands=(), hands_ran=False, frame_diff=1.0)
        ev = ()
        if self.n == 3:
            ev = (Evidence("face_quality", 0, frame.t_ns, 0.0, 0.0, "No face is visible, so the face checks are paused.",
                           kind="quality", code="no_face"),)
        return StepResult(obs, ev, 1.0, 0.1)

    def close(self) -> None:
        pass


class _LostWindowSource(VideoSource):
    """A 'call window' that shows a few frames and then closes."""

    name = "window:Fake Call"
    live = True

    def __init__(self, frames: int = 40) -> None:
        super().__init__()
        self.frames = frames

    def __iter__(self):
        rng = np.random.default_rng(0)
        for i in range(self.frames):
            if self.stopping:
                yield SourceEvent(i, SourceEventKind.ENDED, "stopped", self.name)
                return
            time.sleep(0.02)
            yield VideoFrame(t_ns=(i + 1) * 20_000_000, index=i,
                             image=rng.integers(0, 255, (120, 160, 3), dtype=np.uint8), source=self.name)
        yield SourceEvent(self.frames * 20_000_000, SourceEventKind.LOST, "the call window closed", self.name)


def test_lost_source_keeps_what_was_analysed(qtbot, window):
    win = window
    win.analyzer_factory = _FakeAnalyzer
    win.start_with_source(_LostWindowSource(), spec="window:Fake Call")
    qtbot.waitUntil(lambda: not win.running, timeout=45_000)
    assert session_threads_alive() == []
    assert "the call window closed" in win.message_bar.text.lower()
    assert "stays on screen" in win.message_bar.text
    assert win.live_view.observation is not None          # the last frame is still shown
    assert analysed(win) > 0
    assert win.evidence_list.evidence_rows() == 1


def test_switching_source_stops_the_old_session_first(qtbot, window):
    win = window
    spec, _ = clip_spec()
    win.analyzer_factory = _FakeAnalyzer
    win.start_with_source(_LostWindowSource(frames=100_000), spec="window:Fake Call")
    qtbot.waitUntil(lambda: analysed(win) > 0, timeout=30_000)
    started = []
    win.session_started.connect(started.append)
    assert win.start_source(spec) is True             # no waiting here: the old session stops first
    qtbot.waitUntil(lambda: started == [spec] and win.running, timeout=30_000)
    qtbot.waitUntil(lambda: win.live_view.observation is not None
                    and win.live_view.observation.frame.source != "window:Fake Call", timeout=60_000)
    assert win.source_label.text() in ("demo recording", f"recording {Path(spec.partition(':')[2]).name}")
    win.stop()
    qtbot.waitUntil(lambda: not win.running, timeout=30_000)
    assert session_threads_alive() == []


# -- a real call window on a private X server: offered at start, analysed, then closed -----------------------

@pytest.fixture
def call_window(monkeypatch):
    """The demo (or corpus clip) playing in a Qt window titled 'Zoom Meeting' on a private Xvfb."""
    import select
    import subprocess
    import sys

    try:
        from tests.helpers.xvfb import XvfbServer

        server = XvfbServer().start()
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"no Xvfb: {e}")
    spec, _ = clip_spec()
    video = DEMO if spec == "demo" else spec.partition(":")[2]
    env = dict(os.environ, DISPLAY=server.display, QT_QPA_PLATFORM="xcb")
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "helpers" / "call_window.py"), str(video),
                             "--title", "Zoom Meeting", "--size", "960x540", "--pos", "40,40"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline and not line.startswith("READY"):
            r, _, _ = select.select([proc.stdout], [], [], 0.5)
            if r:
                line = proc.stdout.readline()
                if not line:
                    break
        if not line.startswith("READY"):
            pytest.skip("the stand-in call window did not come up on Xvfb")
        monkeypatch.setenv("DISPLAY", server.display)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        server.stop()


def test_call_window_offered_analysed_and_lost(qtbot, window, call_window, tmp_path):
    from interview_guard.ui.app import find_call_window

    win = window
    # the picker (Ctrl+O) lists the call window first, with a live thumbnail of it
    QTest.keyClick(win, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    picker = win.picker
    assert picker is not None and picker.isVisible() and picker.refreshing
    assert picker.window_titles()[0] == "Zoom Meeting"
    icon = picker.windows.item(0).icon().pixmap(picker.windows.iconSize()).toImage()
    assert not icon.isNull()
    assert qimage_rgb(icon).std() > 5, "the window thumbnail is blank"
    picker_png = tmp_path / "source_picker.png"
    assert picker.grab().save(str(picker_png), "PNG")
    keep_copy(picker_png)
    picker.reject()
    assert not picker.refreshing

    title = find_call_window()
    assert title == "Zoom Meeting"
    win.offer_call_window(title)                                   # what run_gui(None) does
    assert win.message_bar.level == "info" and "Zoom Meeting" in win.message_bar.text
    analyse = next(b for b in win.message_bar.findChildren(QPushButton)
                   if b.text() == "Analyse this window")
    analyse.click()
    assert win.running and win.spec == "window:Zoom Meeting"
    qtbot.waitUntil(lambda: analysed(win) >= 10 and win.live_view.observation is not None
                    and bool(win.live_view.observation.faces), timeout=120_000)
    assert not win.message_bar.isVisible()

    call_window.terminate()                                        # the call ends: its window closes
    call_window.wait(timeout=10)
    qtbot.waitUntil(lambda: not win.running, timeout=60_000)
    assert session_threads_alive() == []
    assert win.message_bar.level == "warning"
    assert "What was analysed so far stays on screen" in win.message_bar.text, win.message_bar.text
    lost_png = tmp_path / "main_window_call_lost.png"
    assert win.grab().save(str(lost_png), "PNG")
    keep_copy(lost_png)
    assert win.live_view.observation is not None and analysed(win) >= 10


# -- the source picker ---------------------------------------------------------------------------------------

class _Win:
    def __init__(self, wid, title, w=640, h=360):
        self.id, self.title, self.x, self.y, self.width, self.height = wid, title, 0, 0, w, h


def test_picker_lists_call_windows_first_and_refreshes_only_while_open(qtbot):
    wins = [_Win(1, "Terminal"), _Win(2, "Zoom Meeting"), _Win(3, "Editor")]
    grabs = []

    def thumb(w, max_w, sct=None):
        grabs.append(w.id)
        img = np.zeros((max_w * 9 // 16, max_w, 3), np.uint8)
        img[..., 1] = 40 * w.id
        return img

    picker = SourcePicker(refresh_ms=100, list_windows=lambda: list(wins),
                          candidates=lambda ws: [w for w in ws if "Zoom" in w.title], thumbnail=thumb)
    qtbot.addWidget(picker)
    chosen = []
    picker.source_chosen.connect(chosen.append)
    picker.show()
    qtbot.waitExposed(picker)
    assert picker.refreshing
    assert picker.window_titles()[0] == "Zoom Meeting"
    assert set(picker.window_titles()) == {"Zoom Meeting", "Terminal", "Editor"}
    n = picker.refresh_count
    qtbot.waitUntil(lambda: picker.refresh_count >= n + 2, timeout=3_000)   # thumbnails refresh
    wins.pop(0)                                                                # "Terminal" closes
    qtbot.waitUntil(lambda: "Terminal" not in picker.window_titles(), timeout=3_000)
    picker.hide()
    assert not picker.refreshing
    n = picker.refresh_count
    qtbot.wait(350)
    assert picker.refresh_count == n
    picker.show()
    picker.windows.setCurrentRow(0)
    picker.window_btn.click()
    assert chosen == ["window:Zoom Meeting"]


def test_picker_without_windows_keeps_other_sources(qtbot):
    def no_x():
        raise IGError("no X display ($DISPLAY is not set), so there are no windows to capture")

    picker = SourcePicker(list_windows=no_x)
    qtbot.addWidget(picker)
    chosen = []
    picker.source_chosen.connect(chosen.append)
    picker.show()
    qtbot.waitExposed(picker)
    assert "no X display" in picker.status.text()
    assert not picker.window_btn.isEnabled()
    demo_btn = next(b for b in picker.findChildren(QPushButton) if b.text() == "Demo recording")
    demo_btn.click()
    assert chosen == ["demo"]


# -- timed, non-interactive mode (tests, CLI, frozen-app smoke test) ----------------------------------------------

def test_run_gui_timed_screenshot(qapp, tmp_path):
    spec, _ = clip_spec()
    shot = tmp_path / "run_gui.png"
    rc = run_gui(spec, seconds=2.0, screenshot=str(shot))
    assert rc == 0
    assert shot.is_file()
    keep_copy(shot)
    rgb = png_rgb(shot)
    assert rgb.reshape(-1, 3).std(axis=0).max() > 10
    assert colour_pixels(rgb, LANDMARK_COLOR) >= 50
    assert session_threads_alive() == []
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]


# -- challenges in the main window --------------------------------------------------------------------

def test_challenge_in_the_main_window_on_the_demo(qtbot, window):
    """Ctrl+K during a live session: the instruction to read aloud, the countdown, then a result
    with reasons from the real analysis worker. The demo has nobody waving a hand, so the honest
    answer is "Inconclusive" (non-compliance is never "Did not pass")."""
    from interview_guard.challenges.protocol import HAND_WAVE
    from interview_guard.challenges.state import Phase

    win = window
    panel = win.challenge_panel
    assert not panel.challenge_action.isEnabled()             # no session yet
    spec, _ = clip_spec()
    assert win.start_source(spec)
    qtbot.waitUntil(lambda: analysed(win) >= 5, timeout=30000)
    assert panel.challenge_action.isEnabled()
    panel.type_box.setCurrentIndex(0)
    QTest.keyClick(win, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    st = win.challenge_runner.snapshot()
    assert st.phase in (Phase.ARMED, Phase.COUNTDOWN) and st.kind == HAND_WAVE
    assert st.prompt.instruction() in panel.instruction_label.text()
    qtbot.waitUntil(lambda: win.challenge_runner.snapshot().phase is Phase.COUNTDOWN, timeout=5000)
    qtbot.waitUntil(lambda: panel.result_label.text() != "", timeout=30000)
    assert panel.result_label.text() == "Inconclusive", panel.reasons_label.text()
    assert "hand" in panel.reasons_label.text().lower()
    res = win.challenge_runner.results[-1]
    assert res.kind == HAND_WAVE
    # the result also went into the session's evidence (a reviewer sees it in the notes)
    qtbot.waitUntil(lambda: any(e.detector == "challenge_hand_wave" for e in win.evidence_list.evidence_items()),
                    timeout=5000)

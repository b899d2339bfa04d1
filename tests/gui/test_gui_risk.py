"""Risk cues, flagged-segment recording and offline analysis in the desktop app, offscreen.

* the risk meter: calm (no animation, the same pixels twice), words per level, no accusation;
* Flag (F) → the recording indicator turns on → the segment appears in the recordings panel,
  plays with its evidence overlaid, exports, deletes; an amber level change records by itself;
* the consent notice: shown until acknowledged, once; a changed text is shown again;
* the timeline paints; the "Analyse recording" view shows progress and finishes, and cancels.

Sessions use a stand-in analyzer (fast, deterministic) that feeds a real ``FusionEngine``; the
offline view runs the real pipeline on a corpus clip.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import re  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from interview_guard.capture.base import VideoSource  # noqa: E402
from interview_guard.core.types import Evidence, Observation, SourceEvent, SourceEventKind, VideoFrame  # noqa: E402
from interview_guard.fusion import Calibration, FusionConfig, FusionEngine, Level, RiskSnapshot  # noqa: E402
from interview_guard.pipeline.analyzer import StepResult  # noqa: E402
from interview_guard.recording.settings import RecordingSettings, acknowledge_consent, consent_path  # noqa: E402
from interview_guard.ui.app import apply_style  # noqa: E402
from interview_guard.ui import recording_controller as rc  # noqa: E402
from interview_guard.ui.analyse_view import AnalyseView  # noqa: E402
from interview_guard.ui.consent import ConsentPanel  # noqa: E402
from interview_guard.ui.main_window import MainWindow  # noqa: E402
from interview_guard.ui.risk_meter import RiskMeter  # noqa: E402
from interview_guard.ui.timeline import EvidenceTimeline  # noqa: E402
from tests.conftest import skip_or_fail  # noqa: E402
from tests.helpers.corpus import corpus_root  # noqa: E402

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_level_fail("WARNING"),
    pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints"),
]
ACCUSING = re.compile(r"\b(fake|deepfake|fraud|liar|imposter|impostor|cheat)\w*", re.I)
NS = 1_000_000_000


# -- stand-ins ----------------------------------------------------------------------------------------

class FusingAnalyzer:
    """No models: every 0.5 s of stream time it reports a seam with ``llr`` (after ``risky_from_s``
    strongly positive), fused by a real FusionEngine (uncalibrated, low thresholds)."""

    def __init__(self, risky_from_s: float = 1e9) -> None:
        self.fusion = FusionEngine(Calibration(), FusionConfig(k=0.1, h_amber=2.0, h_red=6.0))
        self.detectors = []
        self.risky_from_s = risky_from_s
        self._last = None

    def on_frame(self, frame: VideoFrame, *, want_hands=None) -> StepResult:
        obs = Observation(frame=frame, faces=(), hands=(), hands_ran=False, frame_diff=1.0)
        ev = ()
        t = frame.t_ns
        if self._last is None or t - self._last >= NS // 2:
            t0 = self._last if self._last is not None else t
            self._last = t
            llr = 2.3 if t / NS >= self.risky_from_s else -0.5
            ev = (Evidence("seam_band", t0, t, llr, 0.9, "The edge of the face shows a blending seam."
                           if llr > 0 else "The face edge looks like one camera image.", code="seam"),)
        self.fusion.add(ev)
        cues = tuple(self.fusion.advance(t))
        return StepResult(obs, ev, 1.0, 0.1, cues)

    def add_evidence(self, evs) -> None:
        self.fusion.add(evs)

    def finish_fusion(self, t_ns=None):
        return tuple(self.fusion.finish(t_ns))

    def close(self) -> None:
        pass


class PacedSource(VideoSource):
    """A 'call window' at ~25 fps of moving synthetic frames (live timestamps)."""

    name = "window:Test Call"
    live = True

    def __init__(self, seconds: float = 60.0, fps: float = 25.0) -> None:
        super().__init__()
        self.seconds, self.fps = seconds, fps

    def __iter__(self):
        t0 = time.monotonic()
        i = 0
        while i < self.seconds * self.fps:
            if self.stopping:
                yield SourceEvent(int(i * NS / self.fps), SourceEventKind.ENDED, "stopped", self.name)
                return
            due = t0 + i / self.fps
            while time.monotonic() < due:
                time.sleep(0.003)
            img = np.full((180, 320, 3), 60, np.uint8)
            img[:, (i * 5) % 290:(i * 5) % 290 + 30] = (210, 150, 90)
            yield VideoFrame(t_ns=int(i * NS / self.fps), index=i, image=img, source=self.name)
            i += 1
        yield SourceEvent(int(i * NS / self.fps), SourceEventKind.ENDED, "end", self.name)


@pytest.fixture
def dirs(tmp_path):
    cfg, rec = tmp_path / "config", tmp_path / "recordings"
    cfg.mkdir()
    s = RecordingSettings(preroll_s=2.0, postroll_s=1.0)
    s.save(cfg)
    return cfg, rec


def make_window(qtbot, cfg, rec, analyzer_factory):
    win = MainWindow(analyzer_factory=analyzer_factory, config_dir=cfg, recordings_dir=rec)
    apply_style(QApplication.instance())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    return win


def grab_rgb(widget) -> np.ndarray:
    from PySide6.QtGui import QImage

    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8, bpl * h).reshape(h, bpl)[:, : 3 * w].reshape(h, w, 3).copy()


# -- the risk meter -----------------------------------------------------------------------------------

def test_risk_meter_is_calm_and_says_what_to_do(qtbot):
    m = RiskMeter()
    qtbot.addWidget(m)
    m.resize(340, 200)
    m.show()
    qtbot.waitExposed(m)
    assert m.level_label.text().startswith("Waiting")
    steps = [
        RiskSnapshot(2 * NS, Level.GREEN, 0.3, 0.03, "No concerns right now", ("Nothing of concern.",), "", 0.0, 2 * NS),
        RiskSnapshot(20 * NS, Level.AMBER, 3.5, 0.4, "Worth a check", ("The edge of the face shows a seam.",),
                     "Ask the candidate to wave a hand slowly in front of their face.", 1.0, 20 * NS),
        RiskSnapshot(60 * NS, Level.RED, 10.0, 0.7, "verify", ("The hand wave check did not pass.",),
                     "Verify the candidate's identity another way.", 1.0, 60 * NS),
        RiskSnapshot(90 * NS, Level.INCONCLUSIVE, 0.0, 0.0, "Cannot judge", ("No face is visible.",),
                     "Ask the candidate to sit facing the camera.", 0.0, 90 * NS),
    ]
    words = []
    for s in steps:
        m.show_snapshot(s)
        qtbot.wait(20)
        words.append(m.level_label.text())
        shown = " ".join([m.level_label.text(), m.reasons.text(), m.next_step.text()])
        assert not ACCUSING.search(shown), shown
        assert s.reasons[0] in m.reasons.text()
        assert m.next_step.isVisible() == (s.level is not Level.GREEN)
        # nothing animates or flashes: two grabs a moment apart are identical
        a = grab_rgb(m)
        qtbot.wait(300)
        assert np.array_equal(a, grab_rgb(m))
    assert words == ["No concerns right now", "Worth a check", "Verify identity another way", "Cannot judge right now"]
    assert "wave a hand" in steps[1].next_step and m.bar.greyed


# -- consent ------------------------------------------------------------------------------------------------

def test_consent_notice_is_shown_once(qtbot, tmp_path):
    cfg = tmp_path / "cfg"
    p = ConsentPanel(config_dir=cfg)
    qtbot.addWidget(p)
    p.show()
    assert p.isVisible() and "Nothing is uploaded" in p.text.toPlainText()
    assert not p.ok.isEnabled()
    got = []
    p.acknowledged.connect(lambda: got.append(1))
    p.accept_notice()                    # not ticked: nothing happens
    assert got == [] and p.isVisible()
    p.check.setChecked(True)
    qtbot.mouseClick(p.ok, Qt.MouseButton.LeftButton)
    assert got == [1] and not p.isVisible()
    assert consent_path(cfg).is_file()                 # the editable text is now on disk
    p2 = ConsentPanel(config_dir=cfg)
    qtbot.addWidget(p2)
    assert not p2.isVisibleTo(None) and p2.isHidden()  # once acknowledged, never again...
    consent_path(cfg).write_text("Our company policy: tell the candidate.\n")
    p3 = ConsentPanel(config_dir=cfg)                  # ...until the text changes
    qtbot.addWidget(p3)
    assert not p3.isHidden() and "Our company policy" in p3.text.toPlainText()


def test_no_recording_before_consent(qtbot, tmp_path):
    cfg, rec = tmp_path / "c", tmp_path / "r"
    win = make_window(qtbot, cfg, rec, FusingAnalyzer)
    try:
        assert win.consent_panel.isVisible()
        win.start_with_source(PacedSource(30), spec="window:Test Call")
        qtbot.waitUntil(lambda: win.recording_indicator.text() == rc.NO_CONSENT, timeout=20_000)
        assert win.flagging is None and win.flag() is False
        assert "notice" in win.status_line.text()
        win.consent_panel.check.setChecked(True)
        qtbot.mouseClick(win.consent_panel.ok, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: win.flagging is not None, timeout=5_000)
        qtbot.waitUntil(lambda: win.recording_indicator.text() == rc.ARMED, timeout=5_000)
    finally:
        win.shutdown()


# -- Flag → indicator → segment in the panel -----------------------------------------------------------------

def test_flag_records_a_segment_that_shows_in_the_panel(qtbot, dirs, tmp_path):
    cfg, rec = dirs
    acknowledge_consent(cfg)
    win = make_window(qtbot, cfg, rec, FusingAnalyzer)
    try:
        assert not win.consent_panel.isVisible()
        win.start_with_source(PacedSource(60), spec="window:Test Call")
        qtbot.waitUntil(lambda: win.flagging is not None and win.flagging.recorder.frames_encoded > 60,
                        timeout=30_000)
        assert win.recording_indicator.text() == rc.ARMED
        saved = []
        win.segment_saved.connect(saved.append)
        QTest.keyClick(win, Qt.Key.Key_F)                         # the Flag hotkey
        assert win.recording_indicator.text() == rc.ON            # on at once
        assert "Flagged" in win.status_line.text()
        qtbot.waitUntil(lambda: len(saved) == 1, timeout=30_000)
        qtbot.waitUntil(lambda: win.recording_indicator.text() == rc.ARMED, timeout=10_000)
        row = saved[0]
        assert row.trigger == "flag" and 2.5 <= row.duration_s <= 4.5
        panel = win.recordings_panel
        assert panel.list.count() == 1 and panel.selected_id() == row.id
        assert "flag" in panel.list.item(0).text()
        # play it with the evidence overlaid
        assert panel.play_selected()
        qtbot.waitUntil(lambda: panel.player.frames_shown >= 10, timeout=20_000)
        assert any("Flag" in ln or "flag" in ln for ln in panel.player.last_overlay) or panel.player.frames_shown
        # export, then delete
        out = panel.export_selected(tmp_path / "export")
        assert [p.suffix for p in out] == [".mp4", ".json"]
        assert panel.delete_selected(confirm=False)
        assert panel.list.count() == 0 and not (rec / row.file).exists()
        # the flag button is in the toolbar
        assert win.flag_button is not None and win.flag_action.isEnabled()
    finally:
        win.shutdown()
    assert win.flagging is None


def test_amber_level_records_by_itself_and_feeds_the_meter(qtbot, dirs):
    cfg, rec = dirs
    acknowledge_consent(cfg)
    win = make_window(qtbot, cfg, rec, lambda: FusingAnalyzer(risky_from_s=3.0))
    try:
        saved = []
        win.segment_saved.connect(saved.append)
        win.start_with_source(PacedSource(40), spec="window:Test Call")
        qtbot.waitUntil(lambda: win.risk_meter.level is Level.AMBER, timeout=30_000)
        assert win.risk_meter.level_label.text() == "Worth a check"
        assert "blending seam" in win.risk_meter.reasons.text()
        assert "wave a hand" in win.risk_meter.next_step.text()
        qtbot.waitUntil(lambda: len(saved) >= 1, timeout=30_000)
        assert saved[0].trigger.startswith("amber") and saved[0].level == "amber"
        assert win.timeline.cues and win.timeline.rows == ["seam_band"]
        win.side_tabs.setCurrentWidget(win.timeline)
        rgb = grab_rgb(win.timeline)
        assert len(np.unique(rgb.reshape(-1, 3), axis=0)) > 8      # painted: bands, blocks, curve
    finally:
        win.shutdown()


def test_side_panel_accepts_another_tab(qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel

    win = make_window(qtbot, tmp_path / "c", tmp_path / "r", FusingAnalyzer)
    i = win.add_side_panel(QLabel("extra"), "Extra")
    assert win.side_tabs.tabText(i) == "Extra"
    panel = QLabel("challenge panel")
    win.add_side_widget(panel)                     # always visible, right under the risk meter
    lay = win.side_layout
    assert lay.indexOf(panel) == lay.indexOf(win.risk_meter) + 1 and panel.isVisible()
    win.shutdown()


def test_timeline_paints_rows(qtbot):
    t = EvidenceTimeline(window_s=0)
    qtbot.addWidget(t)
    t.resize(500, 160)
    t.show()
    t.add_evidence([Evidence("seam_band", 0, 2 * NS, 1.5, 0.9, "r"),
                    Evidence("face_quality", 2 * NS, 3 * NS, 0.0, 0.0, "q", kind="quality")])
    t.add_snapshot(RiskSnapshot(2 * NS, Level.AMBER, 3.0, 0.4, "", (), ""))
    assert t.rows == ["seam_band", "face_quality"]
    rgb = grab_rgb(t)
    assert (np.abs(rgb.astype(int) - [248, 236, 206]).sum(axis=2) < 6).sum() > 50   # the amber band


# -- offline analysis view ---------------------------------------------------------------------------------

def _corpus_clip() -> Path:
    p = corpus_root() / "video_real" / "dfl_Albica_Johns_0_real_left.mp4"
    if not p.is_file():
        skip_or_fail(f"corpus clip {p} not found (set IG_CORPUS)")   # CI=true: a failure, not a skip
    return p


def _offline_analyzer():
    from interview_guard.fusion.fit import GuardedDetector, available_detectors
    from interview_guard.pipeline.analyzer import Analyzer

    dets = [GuardedDetector(d) for d in available_detectors()[0]]
    return Analyzer(detectors=dets, fusion=FusionEngine(Calibration(), detectors=dets))


def test_analyse_view_progress_and_report(qtbot, tmp_path):
    v = AnalyseView(analyzer_factory=_offline_analyzer, out_root=tmp_path)
    qtbot.addWidget(v)
    v.show()
    done = []
    v.finished_analysis.connect(done.append)
    assert v.start(_corpus_clip())
    assert not v.start_button.isEnabled() and v.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: bool(done), timeout=240_000)
    assert v.error is None, v.error
    assert v.progress.value() == 1000 and v.open_button.isEnabled()
    assert "Done: level" in v.status.text()
    assert v.result.report_html.is_file()


def test_analyse_view_cancel(qtbot, tmp_path):
    v = AnalyseView(analyzer_factory=_offline_analyzer, out_root=tmp_path)
    qtbot.addWidget(v)
    v.show()
    done = []
    v.finished_analysis.connect(done.append)
    v.start(_corpus_clip())
    v.cancel()
    qtbot.waitUntil(lambda: bool(done), timeout=240_000)
    assert "Cancelled" in v.status.text(), v.status.text()
    assert v.result.result.summary["cancelled"] is True
    assert v.start_button.isEnabled() and not v.cancel_button.isEnabled()
    assert not v.start(tmp_path / "missing.mp4") and "no such file" in v.status.text()


def test_analyse_view_scores_a_marked_challenge_span(qtbot, tmp_path, corpus):
    """The GUI marker for a challenge in a recording: the span is scored like the CLI's
    ``--challenge`` (a frontal clip asked for a head turn: inconclusive, "ask again")."""
    clip = corpus("video_real/lp_driving_d5.mp4")          # missing: skip locally, fail under CI
    v = AnalyseView(analyzer_factory=_offline_analyzer, out_root=tmp_path)
    qtbot.addWidget(v)
    v.show()
    v.challenge_edit.setText("2-1:head_turn")
    assert not v.start(clip) and "end must come after the start" in v.status.text()
    done = []
    v.finished_analysis.connect(done.append)
    v.challenge_edit.setText("2-4.9:head_turn")
    assert v.start(clip)
    qtbot.waitUntil(lambda: bool(done), timeout=240_000)
    assert v.error is None, v.error
    assert [r.kind for r in v.challenge_results] == ["head_turn"]
    assert v.challenge_results[0].result == "inconclusive"
    assert "challenge head_turn 2.0" in v.status.text() and "INCONCLUSIVE" in v.status.text()
    lines = (v.result.out_dir / "evidence.jsonl").read_text().splitlines()
    assert any('"challenge_head_turn"' in x for x in lines)

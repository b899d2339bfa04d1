"""The main window: source + start/stop, live view with overlay toggles, risk meter, counters,
evidence list, timeline, saved recordings; Flag; offline analysis.

Shortcuts: Ctrl+R start, Ctrl+. or Esc stop, Ctrl+O choose a source, L landmarks, H hands,
F flag this moment (save 15 s before and 10 s after), Ctrl+Shift+O analyse a recording,
Ctrl+K start a challenge (hand wave or head turn) while a session runs.

Side panel: the risk meter on top, the counters, then tabs ("What the checks noticed",
"Timeline", "Saved moments"). Other features add a tab with ``add_side_panel(widget, title)``.
Recording: a ``pipeline.flagging.FlagRecording`` per session, started only once the consent
notice (``ui.consent``) was acknowledged; the toolbar indicator says when a segment is being
written.

Errors never crash the window: an ``IGError`` while opening a source, a model that fails its
check at start, or a source that is lost mid-call ("the call window closed") show in the
message bar and the status line; the last frame, the counters and the evidence stay visible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QFrame, QHBoxLayout, QLabel, QMainWindow, QSizePolicy, QSplitter,
                               QTabWidget, QToolBar, QVBoxLayout, QWidget)

from interview_guard.capture.base import VideoSource
from interview_guard.challenges.runner import ChallengeRunner, with_runner
from interview_guard.core.errors import IGError
from interview_guard.core.types import SourceEvent, SourceEventKind
from interview_guard.ui.bridge import SessionBridge
from interview_guard.ui.challenge_panel import ChallengePanel
from interview_guard.ui.counters import CountersPanel
from interview_guard.ui.evidence_list import EvidenceList
from interview_guard.ui.live_view import LiveView
from interview_guard.ui.message_bar import MessageBar
from interview_guard.ui import recording_controller as rc
from interview_guard.ui.consent import ConsentPanel
from interview_guard.ui.recordings_panel import RecordingsPanel
from interview_guard.ui.risk_meter import RiskMeter
from interview_guard.ui.timeline import EvidenceTimeline
from interview_guard.pipeline.live import (DEMO_SPEC, default_analyzer, describe_spec, open_live_session,
                                           session_for_source)

WINDOW_TITLE = "interview-guard"
LOCAL_NOTICE = "Analysis is local: nothing leaves this machine. No video, audio or results are uploaded."
RECORDING_OFF = rc.OFF
RECORDING_TIP = rc.OFF_TIP


class MainWindow(QMainWindow):
    #: emitted with the spec when a session is attached (for tests and the app)
    session_started = Signal(str)
    #: emitted when a session's threads are joined
    session_finished = Signal()
    #: emitted when the window is about to close (before the session is shut down)
    closing = Signal()

    #: emitted with a ``recording.index.SegmentRow`` when a flagged segment was saved
    segment_saved = Signal(object)

    def __init__(self, *, analyzer_factory: Callable[[], object] | None = None,
                 picker_factory: Callable[[QWidget], QWidget] | None = None,
                 config_dir: Path | None = None, recordings_dir: Path | None = None,
                 recording: bool = True) -> None:
        super().__init__()
        self.config_dir = config_dir
        self.recordings_dir = recordings_dir
        self.recording_allowed = recording
        self.analyse_view = None
        self.setObjectName("mainWindow")
        self.setWindowTitle(WINDOW_TITLE)
        # challenges: one runner per window; the worker's analyzer feeds it every observation
        self.challenge_runner = ChallengeRunner()
        self.analyzer_factory = with_runner(analyzer_factory or default_analyzer, self.challenge_runner)
        self._picker_factory = picker_factory
        self.picker = None
        self.spec: str | None = None
        self.audio_spec = "auto"         # see pipeline.live: a recording's own sound, else the call loopback
        self.last_error: str | None = None
        self.last_event: SourceEvent | None = None
        self._pending_spec: str | None = None
        self._stopping = False
        self._start_failed = False

        self.bridge = SessionBridge(self)
        self.bridge.started.connect(self._on_started)
        self.bridge.start_failed.connect(self._on_start_failed)
        self.bridge.update.connect(self._on_update)
        self.bridge.evidence.connect(self._on_evidence)
        self.bridge.stats.connect(self._on_stats)
        self.bridge.source_event.connect(self._on_source_event)
        self.bridge.finished.connect(self._on_finished)
        self.bridge.cues.connect(self._on_cues)
        self.bridge.risk.connect(self._on_risk)
        self.bridge.started.connect(lambda: self.challenge_panel.set_session_active(True))
        self.bridge.finished.connect(lambda: self.challenge_panel.set_session_active(False))

        self._build_actions()
        self._build_ui()
        self.recording = rc.RecordingController(self, indicator=self.recording_indicator, flag_action=self.flag_action,
                                                panel=self.recordings_panel, consent_panel=self.consent_panel,
                                                config_dir=config_dir, recordings_dir=recordings_dir,
                                                allowed=recording)
        self.recording.segment_saved.connect(self.segment_saved)
        self.recording.error.connect(self.show_error)
        self.recording.status.connect(self.set_status)
        self._update_controls()
        self.resize(1280, 760)

    # -- construction ---------------------------------------------------------------------------
    def _build_actions(self) -> None:
        self.start_action = QAction("Start", self)
        self.start_action.setShortcut(QKeySequence("Ctrl+R"))
        self.start_action.setToolTip("Start analysing the chosen source (Ctrl+R)")
        self.start_action.triggered.connect(self.start)

        self.stop_action = QAction("Stop", self)
        self.stop_action.setShortcuts([QKeySequence("Ctrl+."), QKeySequence(Qt.Key.Key_Escape)])
        self.stop_action.setToolTip("Stop the analysis (Ctrl+. or Esc)")
        self.stop_action.triggered.connect(self.stop)

        self.choose_action = QAction("Choose source…", self)
        self.choose_action.setShortcut(QKeySequence("Ctrl+O"))
        self.choose_action.setToolTip("Pick a call window, the screen, a camera, a recording or the demo (Ctrl+O)")
        self.choose_action.triggered.connect(self.choose_source)

        self.landmarks_action = QAction("Landmarks", self)
        self.landmarks_action.setCheckable(True)
        self.landmarks_action.setChecked(True)
        self.landmarks_action.setShortcut(QKeySequence("L"))
        self.hands_action = QAction("Hands", self)
        self.hands_action.setCheckable(True)
        self.hands_action.setChecked(True)
        self.hands_action.setShortcut(QKeySequence("H"))
        self.flag_action = QAction("Flag this moment", self)
        self.flag_action.setObjectName("flagAction")
        self.flag_action.setShortcut(QKeySequence("F"))
        self.flag_action.setToolTip("Save the 15 s before and the 10 s after now, with what the checks saw (F)")
        self.flag_action.triggered.connect(lambda: self.flag())

        self.analyse_action = QAction("Analyse recording…", self)
        self.analyse_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.analyse_action.setToolTip("Analyse a recorded interview offline and make a report (Ctrl+Shift+O)")
        self.analyse_action.triggered.connect(self.open_analyse_view)
        for a in (self.start_action, self.stop_action, self.choose_action, self.landmarks_action,
                  self.hands_action, self.flag_action, self.analyse_action):
            a.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(a)

    def _build_ui(self) -> None:
        self.challenge_panel = ChallengePanel(self.challenge_runner)
        self.challenge_panel.setObjectName("challengePanel")
        tb = QToolBar("Session")
        tb.setObjectName("sessionToolbar")
        tb.setMovable(False)
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        tb.addAction(self.choose_action)
        self.source_label = QLabel("No source")
        self.source_label.setObjectName("sourceLabel")
        tb.addWidget(self.source_label)
        tb.addSeparator()
        tb.addAction(self.start_action)
        tb.addAction(self.stop_action)
        tb.addSeparator()

        self.landmarks_box = QCheckBox("Landmarks (L)")
        self.landmarks_box.setToolTip("Show the face mesh points, outline and pose (L)")
        self.hands_box = QCheckBox("Hands (H)")
        self.hands_box.setToolTip("Show hand landmarks and their connections (H)")
        for box, action in ((self.landmarks_box, self.landmarks_action), (self.hands_box, self.hands_action)):
            box.setChecked(action.isChecked())
            box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            box.toggled.connect(action.setChecked)
            action.toggled.connect(box.setChecked)
            tb.addWidget(box)

        tb.addSeparator()
        tb.addAction(self.analyse_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.challenge_panel.challenge_action)
        self.addAction(self.challenge_panel.challenge_action)        # Ctrl+K anywhere in the window
        tb.addAction(self.flag_action)
        self.flag_button = tb.widgetForAction(self.flag_action)
        if self.flag_button is not None:
            self.flag_button.setObjectName("flagButton")
        self.recording_indicator = QLabel(RECORDING_OFF)
        self.recording_indicator.setObjectName("recordingIndicator")
        self.recording_indicator.setToolTip(RECORDING_TIP)
        tb.addWidget(self.recording_indicator)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(6)
        self.message_bar = MessageBar()
        outer.addWidget(self.message_bar)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        self.live_view = LiveView()
        self.landmarks_action.toggled.connect(self.live_view.set_landmarks)
        self.hands_action.toggled.connect(self.live_view.set_hands)
        split.addWidget(self.live_view)

        side = QWidget()
        side.setObjectName("sidePanel")
        side_lay = QVBoxLayout(side)
        self.side_layout = side_lay
        side_lay.setContentsMargins(8, 0, 0, 0)
        side_lay.setSpacing(8)
        counters_title = QLabel("Live analysis")
        counters_title.setObjectName("panelTitle")
        side_lay.addWidget(counters_title)
        self.consent_panel = ConsentPanel(config_dir=self.config_dir)
        side_lay.addWidget(self.consent_panel)
        self.risk_meter = RiskMeter()
        side_lay.addWidget(self.risk_meter)
        side_lay.addWidget(self.challenge_panel)
        self.counters = CountersPanel()
        side_lay.addWidget(self.counters)
        self.side_tabs = QTabWidget()
        self.side_tabs.setObjectName("sideTabs")
        self.evidence_list = EvidenceList()
        self.timeline = EvidenceTimeline()
        self.recordings_panel = RecordingsPanel(config_dir=self.config_dir)
        self.side_tabs.addTab(self.evidence_list, "Notes")
        self.side_tabs.addTab(self.timeline, "Timeline")
        self.side_tabs.addTab(self.recordings_panel, "Saved moments")
        side_lay.addWidget(self.side_tabs, 1)
        side.setMinimumWidth(340)
        split.addWidget(side)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        split.setSizes([880, 380])
        outer.addWidget(split, 1)

        notice = QFrame()
        notice.setObjectName("localNotice")
        nl = QHBoxLayout(notice)
        nl.setContentsMargins(10, 5, 10, 5)
        self.local_notice = QLabel(LOCAL_NOTICE)
        self.local_notice.setObjectName("localNoticeText")
        self.local_notice.setWordWrap(True)
        nl.addWidget(self.local_notice)
        outer.addWidget(notice)
        self.setCentralWidget(central)

        self.status_line = QLabel("Ready.")
        self.status_line.setObjectName("statusLine")
        # a long message must not widen the window: it is clipped (the message bar wraps it in full)
        self.status_line.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.statusBar().addWidget(self.status_line, 1)

    # -- state ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.bridge.active

    @property
    def session(self):
        return self.bridge.session

    def _update_controls(self) -> None:
        running = self.running
        self.start_action.setEnabled(not running and self.spec is not None)
        self.stop_action.setEnabled(running and not self._stopping)
        self.source_label.setText(describe_spec(self.spec) if self.spec else "No source")

    def set_status(self, text: str) -> None:
        self.status_line.setText(text)

    def show_error(self, text: str) -> None:
        """A problem the user should see (calm amber bar + status line); the app keeps running."""
        self.last_error = text
        self.message_bar.show_message(text, level="warning")
        self.set_status(text)

    def show_info(self, text: str, actions=None) -> None:
        self.message_bar.show_message(text, level="info", actions=actions)

    def add_side_panel(self, widget: QWidget, title: str) -> int:
        """Add a tab to the side panel's tabs; returns its index."""
        return self.side_tabs.addTab(widget, title)

    def add_side_widget(self, widget: QWidget) -> None:
        """Add an always-visible widget (e.g. the challenge panel) right under the risk meter."""
        self.side_layout.insertWidget(self.side_layout.indexOf(self.risk_meter) + 1, widget)
        widget.show()

    # -- sources --------------------------------------------------------------------------------------
    def set_source(self, spec: str) -> None:
        """Choose a source without starting it."""
        self.spec = spec
        self._update_controls()

    def start_source(self, spec: str) -> bool:
        """Choose ``spec`` and start it (stopping a running session first). False if it failed to open."""
        self.spec = spec
        if self.running:
            self._pending_spec = spec
            self.stop()
            return True
        return self.start()

    def start(self) -> bool:
        """Open the chosen source and start analysing it. Opening errors show in the UI."""
        if self.running or self.spec is None:
            return False
        spec = self.spec
        self.message_bar.dismiss()
        self.last_error = None
        self.set_status(f"Opening {describe_spec(spec)}…")
        try:
            session = open_live_session(spec, analyzer_factory=self.analyzer_factory, audio=self.audio_spec)
        except IGError as e:
            self.show_error(f"Cannot open {describe_spec(spec)}: {e}")
            self._update_controls()
            return False
        self._attach(session, spec)
        return True

    def start_with_source(self, source: VideoSource, *, spec: str = "custom") -> None:
        """Start on an already opened source (tests, embedding)."""
        if self.running:
            raise RuntimeError("stop the running session first")
        self.spec = spec
        self._attach(session_for_source(source, spec=spec, analyzer_factory=self.analyzer_factory), spec)

    def _attach(self, session, spec: str) -> None:
        self.last_event = None
        self._stopping = False
        self._start_failed = False
        try:
            session.start()
        except Exception as e:  # noqa: BLE001 - thread start failure is extremely unlikely; still a message
            self.show_error(f"Cannot start the analysis: {e}")
            return
        self.bridge.attach(session)
        self.risk_meter.reset()
        self.timeline.reset()
        self.recording.session_started(session)
        self.counters.reset()
        note = getattr(session, "audio_note", "")
        self.counters.sound.setToolTip(note[:1].upper() + note[1:] + "." if note else "")
        self.live_view.set_state_text("")
        self.evidence_list.add_separator(f"{describe_spec(spec)}")
        self.set_status(f"Starting the analysis of {describe_spec(spec)} (checking the models)…")
        self._update_controls()
        self.session_started.emit(spec)

    def stop(self) -> None:
        if not self.running:
            return
        self._stopping = True
        self.set_status("Stopping…")
        self.bridge.stop()
        self._update_controls()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop and join now (closing the app, timed runs)."""
        self._pending_spec = None
        if self.running:
            self._stopping = True
        self.bridge.shutdown(timeout_s)
        self.recording.session_finished()

    def choose_source(self) -> None:
        if self.picker is None:
            if self._picker_factory is not None:
                self.picker = self._picker_factory(self)
            else:
                from interview_guard.ui.source_picker import SourcePicker

                self.picker = SourcePicker(self)
            self.picker.source_chosen.connect(self._picked)
        self.picker.open()

    def _picked(self, spec: str) -> None:
        self.audio_spec = str(getattr(self.picker, "audio_spec", self.audio_spec))
        self.start_source(spec)

    def offer_call_window(self, title: str) -> None:
        """A call window was found at start-up: offer it instead of starting anything by surprise."""
        spec = f"window:{title}"
        self.set_source(spec)
        self.show_info(f"Found a call window: “{title}”. Analyse it?",
                       actions=[("Analyse this window", lambda: self.start_source(spec)),
                                ("Choose another source…", self.choose_source)])
        self.set_status("Ready. Press Ctrl+R to analyse the call window, or Ctrl+O to choose another source.")

    # -- bridge slots -------------------------------------------------------------------------------------
    def _on_started(self) -> None:
        self.set_status(f"Analysing {describe_spec(self.spec or '')}. Press Ctrl+. or Esc to stop.")

    def _on_start_failed(self, msg: str) -> None:
        self._start_failed = True
        self.show_error(f"The analysis could not start: {msg}")

    def _on_update(self, update) -> None:
        self.live_view.show_update(update)

    def _on_evidence(self, items: list) -> None:
        self.evidence_list.add_evidence(items)
        self.timeline.add_evidence(items)

    def _on_cues(self, cues: list) -> None:
        for c in cues:
            self.risk_meter.show_cue(c)
            self.timeline.add_cue(c)

    def _on_risk(self, snap) -> None:
        self.risk_meter.show_snapshot(snap)
        self.timeline.add_snapshot(snap)

    def flag(self, reason: str = "The interviewer pressed Flag.") -> bool:
        """Save this moment (Flag button / F key). False when nothing can be recorded now."""
        return self.recording.flag(reason)

    @property
    def flagging(self):
        """The running session's ``pipeline.flagging.FlagRecording`` (None: not recording)."""
        return self.recording.flagging

    # -- offline analysis -------------------------------------------------------------------------------
    def open_analyse_view(self):
        from interview_guard.ui.analyse_view import AnalyseView

        if self.analyse_view is None:      # the offline default analyzer (no live-only add-ons)
            self.analyse_view = AnalyseView(self)
        self.analyse_view.show()
        return self.analyse_view

    def _on_stats(self, st) -> None:
        self.counters.show_stats(st)

    def _on_source_event(self, ev: SourceEvent) -> None:
        self.last_event = ev
        if ev.kind in (SourceEventKind.LOST, SourceEventKind.ERROR):
            msg = ev.message.strip().rstrip(".") or f"{describe_spec(self.spec or '')} stopped delivering frames"
            self.show_error(f"{msg[:1].upper()}{msg[1:]}. What was analysed so far stays on screen.")
        elif ev.kind is SourceEventKind.ENDED and ev.message != "stopped" and not self._stopping:
            self.set_status(f"{describe_spec(self.spec or '')} ended ({ev.message}).")

    def _on_finished(self) -> None:
        was_stopping = self._stopping
        self._stopping = False
        self.live_view.set_state_text("stopped")
        ev = self.last_event
        name = describe_spec(self.spec or "")
        if self._start_failed or (ev is not None and ev.kind in (SourceEventKind.LOST, SourceEventKind.ERROR)):
            pass                                  # the message is already on screen
        elif was_stopping:
            self.set_status("Stopped. Press Ctrl+R to start again.")
        elif ev is not None and ev.kind is SourceEventKind.ENDED:
            self.set_status(f"{name} ended. Press Ctrl+R to play it again.")
        else:
            self.show_error(f"The analysis of {name} stopped unexpectedly. Press Ctrl+R to try again.")
        self.recording.session_finished()
        self._update_controls()
        self.session_finished.emit()
        if self._pending_spec is not None:
            spec, self._pending_spec = self._pending_spec, None
            self.spec = spec
            self.start()

    # -- closing -----------------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt name
        self.closing.emit()
        self.shutdown()
        self.recording.shutdown()
        if self.picker is not None:
            self.picker.close()
        if self.analyse_view is not None:
            self.analyse_view.close()
        super().closeEvent(event)


__all__ = ["MainWindow", "DEMO_SPEC", "LOCAL_NOTICE", "WINDOW_TITLE"]

"""The UI side of flagged-segment recording, kept out of the main window.

``RecordingController`` owns, for the window:

* the folder of saved moments (``recording.store.SegmentStore``, opened on first use) and the
  recordings panel that lists it;
* one ``pipeline.flagging.FlagRecording`` per session, started only once the consent notice
  (``ui.consent``) was acknowledged, closed on a background thread when the session ends (the
  UI never waits for a segment to be written, except at app exit);
* the toolbar's recording indicator ("● Saving a flagged moment" while a segment is open or
  being written) and the Flag action's enabled state, refreshed on a 250-ms QTimer;
* ``flag()`` for the Flag button / F key.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QWidget

OFF = "○ Not recording"
OFF_TIP = "Nothing is being recorded."
ARMED = "○ Ready to save flagged moments"
ARMED_TIP = ("When something is worth a check, or when you press Flag (F), the 15 s before and the 10 s after are "
             "saved on this computer.")
ON = "● Saving a flagged moment"
ON_TIP = "A short recording of a flagged moment is being saved on this computer."
NO_CONSENT = "○ Recording off (notice not acknowledged)"
NO_CONSENT_TIP = "Acknowledge the recording notice to allow saving flagged moments."
STYLE_ON = "QLabel#recordingIndicator { color: #8c2f26; border: 1px solid #d9b3ad; background: #f7e6e3; }"


class RecordingController(QObject):
    #: a ``recording.index.SegmentRow`` was saved
    segment_saved = Signal(object)
    #: a sentence for the message bar (e.g. the disk is full)
    error = Signal(str)
    #: a sentence for the status line
    status = Signal(str)

    def __init__(self, parent: QWidget, *, indicator: QLabel, flag_action: QAction, panel, consent_panel=None,
                 config_dir: Path | None = None, recordings_dir: Path | None = None, allowed: bool = True) -> None:
        super().__init__(parent)
        self.window = parent
        self.indicator = indicator
        self.flag_action = flag_action
        self.panel = panel
        self.config_dir = config_dir
        self.recordings_dir = recordings_dir
        self.allowed = allowed
        self.flagging = None
        self.session = None
        self._closing: list[tuple[object, threading.Thread]] = []
        self._store = None
        self._consent_needed: bool | None = None
        self.consent_panel = consent_panel
        if consent_panel is not None:
            consent_panel.acknowledged.connect(self._on_consent)
            consent_panel.setVisible(allowed and self.consent_needed())
        self._last_error: str | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # -- store / consent ---------------------------------------------------------------------------
    def store(self):
        if self._store is None:
            from interview_guard.recording.store import SegmentStore

            self._store = SegmentStore(self.recordings_dir)
            self.panel.set_store(self._store)
        return self._store

    def consent_needed(self) -> bool:
        """Read once (and again after an acknowledgement), not on every indicator refresh."""
        if self._consent_needed is None:
            from interview_guard.ui.consent import needs_consent

            self._consent_needed = needs_consent(self.config_dir)
        return self._consent_needed

    def show_consent(self):
        """Bring the embedded notice into view (it never opens a window or takes the focus)."""
        if self.consent_panel is not None:
            self.consent_panel.show()
        return self.consent_panel

    def _on_consent(self) -> None:
        self._consent_needed = None
        if self.session is not None and self.flagging is None:
            self.session_started(self.session)

    # -- session life ------------------------------------------------------------------------------
    def session_started(self, session) -> None:
        self.session = session
        if not self.allowed or self.flagging is not None:
            return
        if self.consent_needed():
            self.show_consent()
            return
        from interview_guard.core.errors import IGError
        from interview_guard.pipeline.flagging import FlagRecording
        from interview_guard.recording.recorder import RecorderConfig
        from interview_guard.recording.settings import RecordingSettings

        st = RecordingSettings.load(self.config_dir)
        try:
            fr = FlagRecording.open(session, store=self.store(),
                                    config=RecorderConfig(preroll_s=st.preroll_s, postroll_s=st.postroll_s))
        except IGError as e:
            self.error.emit(f"Flagged moments cannot be saved: {e}")
            return
        fr.ui_seen = 0
        self.flagging = fr
        self.refresh()

    def session_finished(self) -> None:
        """The session ended: save an open segment in the background."""
        self.session = None
        fr, self.flagging = self.flagging, None
        if fr is not None:
            t = threading.Thread(target=fr.close, name="ig-rec-close", daemon=True)
            t.start()
            self._closing.append((fr, t))
        self.refresh()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """App exit: save an open segment now (bounded wait)."""
        self.session = None
        fr, self.flagging = self.flagging, None
        if fr is not None:
            fr.close(timeout_s)
            self._collect(fr)
        for f, t in list(self._closing):
            t.join(timeout_s)
            self._collect(f)
        self._closing.clear()
        self._timer.stop()

    # -- flag --------------------------------------------------------------------------------------
    def flag(self, reason: str = "The interviewer pressed Flag.") -> bool:
        if self.flagging is None:
            if self.session is not None and self.allowed and self.consent_needed():
                self.show_consent()
                self.status.emit("Recording is off until you acknowledge the notice.")
            elif self.session is None:
                self.status.emit("Nothing to flag: no analysis is running.")
            return False
        self.flagging.flag(reason)
        self.status.emit("Flagged: saving the 15 s before and the 10 s after this moment.")
        self.refresh()
        return True

    # -- indicator -----------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        """A segment is open or being written."""
        return (self.flagging is not None and self.flagging.recording) or \
            any(f.recording for f, _ in self._closing)

    def _collect(self, fr) -> None:
        segs = fr.recorder.segments
        seen = getattr(fr, "ui_seen", 0)
        if len(segs) > seen:
            fr.ui_seen = len(segs)
            self.panel.refresh()
            for row in segs[seen:]:
                self.panel.select(row.id)
                self.segment_saved.emit(row)
        err = fr.recorder.last_error
        if err and err != self._last_error:
            self._last_error = err
            self.error.emit(err)

    def refresh(self) -> None:
        for fr, t in list(self._closing):
            self._collect(fr)
            if not t.is_alive():
                self._closing.remove((fr, t))
        if self.flagging is not None:
            self._collect(self.flagging)
        if self.active:
            text, tip, style = ON, ON_TIP, STYLE_ON
        elif self.flagging is not None:
            text, tip, style = ARMED, ARMED_TIP, ""
        elif self.session is not None and self.allowed and self.consent_needed():
            text, tip, style = NO_CONSENT, NO_CONSENT_TIP, ""
        else:
            text, tip, style = OFF, OFF_TIP, ""
        if self.indicator.text() != text:
            self.indicator.setText(text)
            self.indicator.setToolTip(tip)
            self.indicator.setStyleSheet(style)
        self.flag_action.setEnabled(self.session is not None)

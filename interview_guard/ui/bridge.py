"""The one place where analysis results reach Qt.

``SessionBridge`` polls a ``RealtimeSession`` on a ``QTimer`` (UI thread) and re-emits what it
finds as Qt signals. It never blocks: every queue is read with ``timeout=0``/``drain()``, and
the start-up check reads public state instead of waiting in ``wait_started()``.

Life of one session::

    attach(session)  →  started | start_failed(msg)  →  update / evidence / stats / source_event ...
                     →  finished   (the worker ended: stopped, the source ended or was lost)

After ``finished`` the bridge has stopped and joined the session's threads and detached it.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from interview_guard.core.errors import IGError
from interview_guard.pipeline.realtime import RealtimeSession


class SessionBridge(QObject):
    #: the analysis worker is up (models loaded and checked)
    started = Signal()
    #: the analysis could not start (e.g. a model failed its check); the message is for the user
    start_failed = Signal(str)
    #: the newest analysed frame (``pipeline.realtime.LiveUpdate``); older ones are skipped
    update = Signal(object)
    #: new ``Evidence`` items, oldest first (``list[Evidence]``)
    evidence = Signal(list)
    #: ``pipeline.realtime.LiveStats``
    stats = Signal(object)
    #: ``core.types.SourceEvent`` (ENDED / LOST / ERROR)
    source_event = Signal(object)
    #: new ``fusion.Cue`` items (level changes), oldest first (``list[Cue]``)
    cues = Signal(list)
    #: the newest ``fusion.RiskSnapshot`` (level, meter, reasons, next step)
    risk = Signal(object)
    #: the session is over and its threads are joined
    finished = Signal()

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 33, stats_interval_ms: int = 250,
                 start_timeout_s: float = 60.0, join_timeout_s: float = 3.0) -> None:
        super().__init__(parent)
        self.session: RealtimeSession | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)
        self._stats_interval_s = stats_interval_ms / 1000.0
        self._start_timeout_s = start_timeout_s
        self._join_timeout_s = join_timeout_s
        self._started = False
        self._failed = False
        self._t_attach = 0.0
        self._t_stats = 0.0

    # -- control ----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.session is not None

    def attach(self, session: RealtimeSession) -> None:
        """Watch an already started session."""
        if self.session is not None:
            raise RuntimeError("the bridge already watches a session; stop it first")
        self.session = session
        self._started = False
        self._failed = False
        self._t_attach = self._t_stats = time.monotonic()
        self._timer.start()

    def stop(self) -> None:
        """Ask the session to stop; ``finished`` follows once its worker has ended."""
        if self.session is not None:
            self.session.stop()

    def shutdown(self, timeout_s: float = 5.0) -> None:
        """Stop and join *now* (app exit): the one place the UI waits, bounded by ``timeout_s``."""
        s = self.session
        if s is None:
            return
        s.stop()
        s.join(timeout_s)
        self._finish()

    # -- the timer ----------------------------------------------------------------------------
    def _tick(self) -> None:
        s = self.session
        if s is None:
            self._timer.stop()
            return
        if not self._started and not self._failed:
            self._check_started(s)
        self._drain(s)
        now = time.monotonic()
        if now - self._t_stats >= self._stats_interval_s:
            self._t_stats = now
            self.stats.emit(s.stats())
        if not s.running and (self._started or self._failed):
            self._finish()

    def _check_started(self, s: RealtimeSession) -> None:
        if s.started and s.start_error is None:   # the worker built its Analyzer: models are fine
            self._started = True
            self.started.emit()
            return
        if s.started or not s.running:            # the worker ended before building it: start error
            self._failed = True
            err = s.start_error
            if err is None:
                msg = "the analysis stopped before it started"
            elif isinstance(err, IGError):
                msg = str(err)
            else:
                msg = f"the analysis could not start ({type(err).__name__}: {err})"
            self.start_failed.emit(msg)
            return
        if time.monotonic() - self._t_attach > self._start_timeout_s:
            self._failed = True
            self.start_failed.emit(f"the analysis did not start within {self._start_timeout_s:.0f} s")
            s.stop()

    def _drain(self, s: RealtimeSession) -> None:
        latest = s.latest.get(timeout=0)
        if latest is not None:
            self.update.emit(latest)
        ev = s.evidence.drain()
        if ev:
            self.evidence.emit(ev)
        for e in s.events.drain():
            self.source_event.emit(e)
        cue_q = getattr(s, "cues", None)
        if cue_q is not None:
            cues = cue_q.drain()
            if cues:
                self.cues.emit(cues)
            snap = s.risk.get(timeout=0)
            if snap is not None:
                self.risk.emit(snap)

    def _finish(self) -> None:
        s = self.session
        if s is None:
            return
        self._timer.stop()
        s.stop()                             # also ends a capture thread whose worker died
        s.join(self._join_timeout_s)         # the worker is done: this returns at once
        self._drain(s)
        self.stats.emit(s.stats())
        self.session = None
        self.finished.emit()

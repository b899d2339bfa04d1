"""Open a source spec and wire a ``RealtimeSession`` for the live view. **No Qt here.**

Specs (as in ``interview_guard.capture.factory.open_video_source``): ``window:<title>``,
``screen``, ``camera:<i>``, ``file:<path>``, ``demo``. Recordings (sources with ``live ==
False``) are played at their own frame rate with ``PacedSource`` so the live view behaves as
with a real call; the demo loops, a file plays once.

Opening may raise ``IGError`` (unknown window, missing file, no display...): callers show
``str(error)`` to the user.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Iterator

from interview_guard.capture.base import VideoSource
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import SourceError
from interview_guard.core.types import SourceEvent, SourceEventKind, VideoFrame
from interview_guard.pipeline.realtime import PacedSource, RealtimeSession

DEMO_SPEC = "demo"


def default_analyzer():
    """Build the full Analyzer (mediapipe models + every registered detector).

    Called on the analysis worker thread, so the heavy imports and model checks never run on
    the UI thread; a ``ModelError`` here surfaces through ``RealtimeSession.wait_started``.
    """
    from interview_guard.pipeline.analyzer import Analyzer

    return Analyzer()


def describe_spec(spec: str) -> str:
    """A short human name for a source spec (toolbar / status line)."""
    kind, _, arg = spec.partition(":")
    if kind == "window":
        return f"window “{arg}”"
    if kind == "screen":
        return "whole screen" if not arg else f"screen {arg}"
    if kind == "camera":
        return f"camera {arg or 0}"
    if kind == "file":
        return f"recording {Path(arg).name}"
    if kind == "demo":
        return "demo recording"
    return spec


class WaitForAnalysis(VideoSource):
    """Holds a source back until the analysis worker is ready (``ready()`` returns True).

    ``RealtimeSession`` starts capture and analysis together; loading and checking the models
    takes a few seconds, and meanwhile a recording would play on and a live source would fill
    the drop counter. Behind this gate, capture (and a recording's pacing clock) starts when
    the analysis can take frames. ``stop()`` releases the gate.
    """

    def __init__(self, inner: VideoSource, ready: Callable[[], bool] | None = None, *, poll_s: float = 0.02) -> None:
        super().__init__()
        self.inner = inner
        self.ready = ready or (lambda: True)
        self.poll_s = poll_s
        self.name = inner.name
        self.fps_hint = inner.fps_hint
        self.live = getattr(inner, "live", True)
        if getattr(inner, "clock", None) is not None:
            self.clock = inner.clock

    def stop(self) -> None:
        super().stop()
        self.inner.stop()

    def close(self) -> None:
        super().close()
        self.inner.close()

    def __iter__(self) -> Iterator[VideoFrame | SourceEvent]:
        while not self.stopping and not self.ready():
            time.sleep(self.poll_s)
        if self.stopping:
            self.inner.close()
            yield SourceEvent(0, SourceEventKind.ENDED, "stopped", self.name)
            return
        yield from self.inner


def _open_raw(spec: str, clock: SessionClock) -> VideoSource:
    """The source for ``spec`` from the capture factory (another module owns the spec grammar)."""
    try:
        from interview_guard.capture.factory import open_video_source
    except ImportError:  # the factory is not in this build yet: recordings still work
        return _fallback_open(spec)
    return open_video_source(spec, clock=clock)


def _fallback_open(spec: str) -> VideoSource:
    from interview_guard.capture.recording import RecordingVideoSource

    kind, _, arg = spec.partition(":")
    if kind == "file":
        return RecordingVideoSource(arg)
    if kind == "demo":
        from interview_guard.cli.main import demo_path

        path = demo_path()
        if not path.is_file():
            raise SourceError(f"the demo recording {path} is missing", hint="reinstall interview-guard")
        return RecordingVideoSource(path)
    raise SourceError(f"the source '{spec}' is not available in this build",
                      hint="open a recording (file:PATH) or the demo instead")


def open_live_session(spec: str, *, analyzer_factory: Callable[[], object] | None = None,
                      loop: bool | None = None) -> RealtimeSession:
    """A *not yet started* ``RealtimeSession`` on ``spec``. Raises ``IGError`` if it cannot open.

    ``loop``: replay a recording when it ends (default: only the demo loops).
    """
    clock = SessionClock()
    source = _open_raw(spec, clock)
    return session_for_source(source, spec=spec, clock=clock, analyzer_factory=analyzer_factory, loop=loop)


def session_for_source(source: VideoSource, *, spec: str = "", clock: SessionClock | None = None,
                       analyzer_factory: Callable[[], object] | None = None,
                       loop: bool | None = None) -> RealtimeSession:
    """Wrap an already opened source (pacing recordings) into a ``RealtimeSession``."""
    clock = clock or getattr(source, "clock", None) or SessionClock()
    if not getattr(source, "live", True):
        if loop is None:
            loop = spec.partition(":")[0] == DEMO_SPEC
        reopen = (lambda: _open_raw(spec, clock)) if (loop and spec) else None
        source = PacedSource(source, clock, loop=bool(loop), reopen=reopen)
    session_clock = getattr(source, "clock", None) or clock
    gate = WaitForAnalysis(source)
    session = RealtimeSession(gate, analyzer_factory or default_analyzer, clock=session_clock)
    gate.ready = lambda: session.analyzer is not None
    return session

"""Open a source spec as a live session (GUI and the headless ``live`` command share this).

Specs (``interview_guard.capture.factory.open_video_source``): ``window:<title>``, ``screen``,
``camera:<i>``, ``file:<path>``, ``demo``. Recordings (``live == False``) are played at their
own frame rate with ``PacedSource`` so they behave like a call; the demo loops, a file plays
once. Opening may raise ``IGError`` (unknown window, missing file, no display...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from interview_guard.capture.base import VideoSource
from interview_guard.core.clock import SessionClock
from interview_guard.pipeline.realtime import PacedSource, RealtimeSession

DEMO_SPEC = "demo"


def default_analyzer():
    """The full Analyzer (mediapipe models + every registered detector), built on the worker thread."""
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


def _open_raw(spec: str, clock: SessionClock) -> VideoSource:
    from interview_guard.capture.factory import open_video_source

    return open_video_source(spec, clock=clock)


def open_live_session(spec: str, *, analyzer_factory: Callable[[], object] | None = None,
                      loop: bool | None = None) -> RealtimeSession:
    """A *not yet started* ``RealtimeSession`` on ``spec``. ``loop``: replay a recording at its end
    (default: only the demo loops)."""
    clock = SessionClock()
    source = _open_raw(spec, clock)
    return session_for_source(source, spec=spec, clock=clock, analyzer_factory=analyzer_factory, loop=loop)


def session_for_source(source: VideoSource, *, spec: str = "", clock: SessionClock | None = None,
                       analyzer_factory: Callable[[], object] | None = None,
                       loop: bool | None = None) -> RealtimeSession:
    """Wrap an opened source (pacing recordings) into a ``RealtimeSession``."""
    clock = clock or getattr(source, "clock", None) or SessionClock()
    if not getattr(source, "live", True):
        if loop is None:
            loop = spec.partition(":")[0] == DEMO_SPEC
        reopen = (lambda: _open_raw(spec, clock)) if (loop and spec) else None
        source = PacedSource(source, clock, loop=bool(loop), reopen=reopen)
    session_clock = getattr(source, "clock", None) or clock
    return RealtimeSession(source, analyzer_factory or default_analyzer, clock=session_clock)

"""Open a source spec as a live session (GUI and the headless ``live`` command share this).

Specs (``interview_guard.capture.factory.open_video_source``): ``window:<title>``, ``screen``,
``camera:<i>``, ``file:<path>``, ``demo``. Recordings (``live == False``) are played at their
own frame rate with ``PacedSource`` so they behave like a call; the demo loops, a file plays
once. Opening may raise ``IGError`` (unknown window, missing file, no display...).

Audio (``audio=``): ``"auto"`` (default) takes a recording's own sound track (played at its rate,
looped with the demo) and, for live sources, the call audio through the system loopback when one
is available; otherwise the session runs without sound and ``session.audio_note`` says why.
Any audio spec of ``capture.factory.open_audio_source`` (``loopback[:monitor]``, ``mic[:dev]``,
``file:<path>``, ``none``) is used as given, and a failure to open it is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from interview_guard.capture.base import VideoSource
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import IGError
from interview_guard.pipeline.realtime import PacedAudioSource, PacedSource, RealtimeSession

DEMO_SPEC = "demo"
AUTO_AUDIO = "auto"


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
                      loop: bool | None = None, audio: str | None = AUTO_AUDIO) -> RealtimeSession:
    """A *not yet started* ``RealtimeSession`` on ``spec``. ``loop``: replay a recording at its end
    (default: only the demo loops). ``audio``: see the module doc (None = no sound)."""
    clock = SessionClock()
    source = _open_raw(spec, clock)
    try:
        audio_source, note = open_session_audio(spec, audio, clock, loop=loop)
    except BaseException:
        source.close()
        raise
    session = session_for_source(source, spec=spec, clock=clock, analyzer_factory=analyzer_factory, loop=loop,
                                 audio_source=audio_source)
    session.audio_note = note
    return session


def open_session_audio(spec: str, audio: str | None, clock: SessionClock, *, loop: bool | None = None):
    """``(audio source or None, a plain note on what is heard)`` for a video ``spec``."""
    from interview_guard.capture.factory import open_audio_source

    kind = spec.partition(":")[0]
    if audio is None or audio == "none":
        return None, "sound is not analysed (no audio source chosen)"
    if audio != AUTO_AUDIO:
        src = open_audio_source(audio, clock=clock)
        if src is not None and not getattr(src, "live", True):
            src = _paced_audio(audio, src, clock, loop=bool(loop))
        return src, f"sound: {getattr(src, 'name', audio)}"
    if kind in ("file", DEMO_SPEC):
        audio_spec = "demo" if kind == DEMO_SPEC else spec
        try:
            src = open_audio_source(audio_spec, clock=clock)
        except IGError as e:
            return None, f"sound is not analysed: {e}"
        do_loop = (kind == DEMO_SPEC) if loop is None else bool(loop)
        return _paced_audio(audio_spec, src, clock, loop=do_loop), "sound: the recording's own audio track"
    from interview_guard.capture.factory import loopback_available

    try:
        ok = loopback_available()
    except Exception as e:  # noqa: BLE001 - probing the sound server must never stop the session
        return None, f"sound is not analysed: the call audio cannot be captured ({e})"
    if not ok:
        why = getattr(ok, "description", "")
        return None, "sound is not analysed: no loopback of the call audio is available" + (f" ({why})" if why else "")
    try:
        return open_audio_source("loopback", clock=clock), "sound: the call audio (system loopback)"
    except IGError as e:
        return None, f"sound is not analysed: {e}"


def _paced_audio(audio_spec: str, src, clock: SessionClock, *, loop: bool):
    from interview_guard.capture.factory import open_audio_source

    reopen = (lambda: open_audio_source(audio_spec, clock=clock)) if loop else None
    return PacedAudioSource(src, clock, loop=loop, reopen=reopen)


def session_for_source(source: VideoSource, *, spec: str = "", clock: SessionClock | None = None,
                       analyzer_factory: Callable[[], object] | None = None,
                       loop: bool | None = None, audio_source=None) -> RealtimeSession:
    """Wrap an opened source (pacing recordings) into a ``RealtimeSession``."""
    clock = clock or getattr(source, "clock", None) or SessionClock()
    if not getattr(source, "live", True):
        if loop is None:
            loop = spec.partition(":")[0] == DEMO_SPEC
        reopen = (lambda: _open_raw(spec, clock)) if (loop and spec) else None
        source = PacedSource(source, clock, loop=bool(loop), reopen=reopen)
    session_clock = getattr(source, "clock", None) or clock
    session = RealtimeSession(source, analyzer_factory or default_analyzer, clock=session_clock,
                              audio_source=audio_source)
    session.audio_note = "sound is not analysed (no audio source chosen)" if audio_source is None else \
        f"sound: {getattr(audio_source, 'name', 'audio')}"
    return session

"""Open capture sources from short spec strings (CLI options, GUI choices, config files).

Video specs                         Audio specs
  window:<title>  (window = best call window)   loopback            the call's sound (default output)
  screen          (the first monitor)           loopback:<output>   Linux: a sink name; Windows: an output
  screen:<n>      (monitor n; 0 = all)                              device; macOS: a loopback input device
  screen:<x>,<y>,<w>,<h>                         mic / mic:<device>  a microphone (index or name)
  camera / camera:<index>                        file:<path>         a recording's audio track
  file:<path>                                    demo                the demo clip's audio
  demo            (assets/demo_interview.mp4)    none                no audio (returns None)

A bare path to an existing file is read as ``file:<path>``. Platform dispatch: Linux uses
X11 (python-xlib + mss) and PulseAudio/PipeWire; Windows and macOS use
:mod:`platform_windows` / :mod:`platform_macos`. Malformed specs raise ``ConfigError``; sources
that cannot open raise ``SourceError`` / ``InputError`` (all ``IGError``: one clear sentence).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interview_guard.capture.base import AudioSource, VideoSource
from interview_guard.core.errors import ConfigError, SourceError

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
DEMO_CLIP = "demo_interview.mp4"

VIDEO_SPEC_HELP = "window:<title>, screen, screen:<n>, screen:<x>,<y>,<w>,<h>, camera:<index>, file:<path> or demo"
AUDIO_SPEC_HELP = "loopback, loopback:<output>, mic, mic:<device>, file:<path>, demo or none"

_VIDEO_KINDS = ("window", "screen", "camera", "file", "demo")
_AUDIO_KINDS = ("loopback", "mic", "file", "demo", "none")


def demo_path() -> Path:
    """The demo clip: ``assets/`` in the frozen bundle (``sys._MEIPASS``), else the repository's ``assets``."""
    if getattr(sys, "frozen", False):
        base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
        return base / "assets" / DEMO_CLIP
    return ASSETS_DIR / DEMO_CLIP


def _platform() -> str:
    if sys.platform == "win32":
        return "windows"
    if sys.platform == "darwin":
        return "macos"
    return "linux"


@dataclass(frozen=True, slots=True)
class Spec:
    """A parsed source spec: ``kind`` (e.g. "window") and its argument (may be "")."""

    kind: str
    arg: str = ""

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


def _split(spec: str, kinds: tuple[str, ...], what: str, help_text: str) -> Spec:
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError(f"empty {what} source", hint=f"use one of: {help_text}")
    s = spec.strip()
    head, sep, rest = s.partition(":")
    kind = head.strip().lower()
    if kind in kinds:
        return Spec(kind, rest.strip() if sep else "")
    if "file" in kinds and Path(s).expanduser().is_file():  # a bare path (also C:\... on Windows)
        return Spec("file", s)
    raise ConfigError(f"unknown {what} source '{spec}'", hint=f"use one of: {help_text}")


def parse_video_spec(spec: str) -> Spec:
    """Check and normalise a video spec (see module doc). Raises ``ConfigError``."""
    p = _split(spec, _VIDEO_KINDS, "video", VIDEO_SPEC_HELP)
    if p.kind == "screen" and p.arg:
        parts = [v.strip() for v in p.arg.split(",")]
        if len(parts) == 1 and parts[0].lower().removeprefix("monitor").isdigit():
            return Spec("screen", parts[0].lower().removeprefix("monitor"))
        if len(parts) != 4 or not all(_is_int(v) for v in parts):
            raise ConfigError(f"bad screen region '{p.arg}'",
                              hint="write screen:<x>,<y>,<width>,<height> (pixels) or screen:<monitor number>")
        return Spec("screen", ",".join(str(int(v)) for v in parts))
    if p.kind == "camera":
        arg = p.arg or "0"
        if not arg.isdigit():
            raise ConfigError(f"bad camera index '{p.arg}'", hint="write camera:0, camera:1, ...")
        return Spec("camera", str(int(arg)))
    if p.kind == "file" and not p.arg:
        raise ConfigError("file: needs a path", hint="write file:/path/to/recording.mp4")
    if p.kind == "demo" and p.arg:
        raise ConfigError(f"demo takes no argument (got '{p.arg}')", hint="write demo")
    return p


def parse_audio_spec(spec: str) -> Spec:
    """Check and normalise an audio spec (see module doc). Raises ``ConfigError``."""
    p = _split(spec, _AUDIO_KINDS, "audio", AUDIO_SPEC_HELP)
    if p.kind == "file" and not p.arg:
        raise ConfigError("file: needs a path", hint="write file:/path/to/recording.mp4")
    if p.kind in ("none", "demo") and p.arg:
        raise ConfigError(f"{p.kind} takes no argument (got '{p.arg}')")
    return p


def _is_int(v: str) -> bool:
    try:
        int(v)
    except ValueError:
        return False
    return True


def _demo_file() -> Path:
    p = demo_path()
    if not p.is_file():
        raise SourceError(f"the demo clip is missing ({p})",
                          hint="reinstall interview-guard, or open a recording with file:<path>")
    return p


def open_video_source(spec: str, *, clock: Any = None, fps: float = 30.0, max_width: int = 0,
                      sample_fps: float = 0.0, display: str | None = None) -> VideoSource:
    """Open the video source a spec names.

    ``clock``: the session clock live sources stamp frames with (share it with the audio source).
    ``fps``: capture rate of live sources. ``max_width``: downscale wider frames (0 = never).
    ``sample_fps``: recordings only, keep frames at most this often (0 = all). ``display``: X11
    display name for window/screen capture on Linux (default ``$DISPLAY``).
    """
    p = parse_video_spec(spec)
    plat = _platform()
    if p.kind in ("file", "demo"):
        from interview_guard.capture.recording import RecordingVideoSource

        path = _demo_file() if p.kind == "demo" else Path(p.arg).expanduser()
        src = RecordingVideoSource(path, sample_fps=sample_fps, max_width=max_width)
        if p.kind == "demo":
            src.name = "demo"
        return src
    if p.kind == "window":
        if plat == "windows":
            from interview_guard.capture.platform_windows import WindowsWindowVideoSource

            return WindowsWindowVideoSource(p.arg, fps=fps, clock=clock, max_width=max_width)
        if plat == "macos":
            from interview_guard.capture.platform_macos import MacWindowVideoSource

            return MacWindowVideoSource(p.arg, fps=fps, clock=clock, max_width=max_width)
        from interview_guard.capture.screen import WindowVideoSource

        return WindowVideoSource(p.arg, fps=fps, clock=clock, display=display, max_width=max_width)
    if p.kind == "screen":
        from interview_guard.capture.screen import ScreenRegionVideoSource

        if not p.arg:
            return ScreenRegionVideoSource(monitor=1, fps=fps, clock=clock, display=display, max_width=max_width)
        if "," not in p.arg:
            return ScreenRegionVideoSource(monitor=int(p.arg), fps=fps, clock=clock, display=display,
                                           max_width=max_width)
        x, y, w, h = (int(v) for v in p.arg.split(","))
        return ScreenRegionVideoSource(x, y, w, h, fps=fps, clock=clock, display=display, max_width=max_width)
    if p.kind == "camera":
        from interview_guard.capture.camera import CameraVideoSource

        return CameraVideoSource(int(p.arg), fps=fps, clock=clock)
    raise AssertionError(f"unhandled video spec {p}")  # pragma: no cover


def open_audio_source(spec: str, *, clock: Any = None, sample_rate: int = 16000,
                      block_s: float = 0.1) -> AudioSource | None:
    """Open the audio source a spec names; ``none`` gives None (video-only analysis).

    ``clock``: the session clock (share it with the video source so both streams align).
    """
    p = parse_audio_spec(spec)
    plat = _platform()
    if p.kind == "none":
        return None
    if p.kind in ("file", "demo"):
        from interview_guard.capture.recording import RecordingAudioSource

        path = _demo_file() if p.kind == "demo" else Path(p.arg).expanduser()
        return RecordingAudioSource(path, sample_rate=sample_rate, chunk_s=block_s)
    if p.kind == "loopback":
        if plat == "windows":
            from interview_guard.capture.platform_windows import WasapiLoopbackAudioSource

            return WasapiLoopbackAudioSource(sample_rate, block_s, p.arg or None, clock=clock)
        if plat == "macos":
            from interview_guard.capture.platform_macos import MacLoopbackAudioSource

            return MacLoopbackAudioSource(sample_rate, block_s, p.arg or None, clock=clock)
        from interview_guard.capture.audio_devices import LoopbackAudioSource

        return LoopbackAudioSource(sample_rate, block_s, p.arg or None, clock=clock)
    if p.kind == "mic":
        from interview_guard.capture.audio_devices import MicrophoneAudioSource

        device: int | str | None = None
        if p.arg:
            device = int(p.arg) if p.arg.isdigit() else p.arg
        return MicrophoneAudioSource(device, sample_rate=sample_rate, block_s=block_s, clock=clock)
    raise AssertionError(f"unhandled audio spec {p}")  # pragma: no cover


def list_windows():
    """Titled windows on this system (for the GUI's window picker), with the platform's backend."""
    plat = _platform()
    if plat == "windows":
        from interview_guard.capture.platform_windows import list_windows as lw
    elif plat == "macos":
        from interview_guard.capture.platform_macos import list_windows as lw
    else:
        from interview_guard.capture.x11_windows import list_windows as lw
    return lw()


def candidate_call_windows():
    """Windows that look like a video call, best first (any platform)."""
    from interview_guard.capture.x11_windows import candidate_call_windows as ccw

    return ccw(list_windows())


def loopback_available():
    """``LoopbackStatus`` (truthy when call audio can be captured) with a sentence for the user."""
    from interview_guard.capture.audio_devices import loopback_available as la

    return la()

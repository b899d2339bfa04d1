"""macOS capture backends: a call window by title (Quartz ``CGWindowListCopyWindowInfo`` + mss) and
call audio through a loopback device (BlackHole, Loopback, Soundflower, ...).

UNTESTED: written against Apple's and PortAudio's documentation but never run (the project's
machines are Linux). Every entry point raises ``SourceError("... is only available on
macOS")`` elsewhere; nothing here pretends to work on other systems.

macOS:
* Window lookup needs ``pyobjc-framework-Quartz`` (not a dependency of the Linux build; add
  ``pyobjc-framework-Quartz; sys_platform == 'darwin'`` to the dependencies to ship it).
* Window titles (``kCGWindowName``) are only visible to apps granted *Screen Recording*
  permission (System Settings › Privacy & Security › Screen Recording); without it every
  title is empty and the error says so. The same permission lets mss grab the screen.
* Bounds are in points with a top-left origin, the coordinate system mss uses on macOS (grabs
  of a Retina display come back at pixel resolution, i.e. 2x).
* macOS has no system audio loopback: the user installs a virtual device (BlackHole 2ch) and
  makes a Multi-Output Device (speakers + BlackHole) the system output, or sets BlackHole as
  the call app's speaker. We record that device as an input.
"""

from __future__ import annotations

import sys
from typing import Any

from interview_guard.capture.audio_devices import LoopbackStatus, SoundDeviceAudioSource, import_sounddevice
from interview_guard.capture.screen import RectGrabSource, WindowGone, window_not_found_error
from interview_guard.capture.x11_windows import WindowInfo, find_window
from interview_guard.core.errors import SourceError

IS_MACOS = sys.platform == "darwin"

#: Input devices that carry other apps' output back in (virtual loopback drivers).
LOOPBACK_DEVICE_NAMES: tuple[str, ...] = ("BlackHole", "Loopback Audio", "Soundflower", "Background Music",
                                          "VB-Cable")


def _require_macos(what: str) -> None:
    if not IS_MACOS:
        raise SourceError(f"{what} is only available on macOS (this is {sys.platform})",
                          hint="use capture.factory, which picks the right backend for this system")


def _quartz():
    _require_macos("macOS window capture")
    try:
        import Quartz  # type: ignore[import-not-found]
    except ImportError:
        raise SourceError("window capture on macOS needs the pyobjc-framework-Quartz package, which is not "
                          "installed", hint="pip install pyobjc-framework-Quartz") from None
    return Quartz


def _window_dicts(Quartz, only_on_screen: bool = True):
    opts = Quartz.kCGWindowListExcludeDesktopElements
    if only_on_screen:
        opts |= Quartz.kCGWindowListOptionOnScreenOnly
    return Quartz.CGWindowListCopyWindowInfo(opts, Quartz.kCGNullWindowID) or []


def _info_of(Quartz, d) -> WindowInfo | None:
    if int(d.get(Quartz.kCGWindowLayer, 0)) != 0:  # menus, dock, status items
        return None
    owner = str(d.get(Quartz.kCGWindowOwnerName, "") or "")
    name = str(d.get(Quartz.kCGWindowName, "") or "")
    b = d.get(Quartz.kCGWindowBounds) or {}
    x, y = int(round(float(b.get("X", 0)))), int(round(float(b.get("Y", 0))))
    w, h = int(round(float(b.get("Width", 0)))), int(round(float(b.get("Height", 0))))
    if w <= 1 or h <= 1:
        return None
    # "zoom.us — Zoom Meeting": the owner helps when apps use generic window names
    title = f"{owner} — {name}" if name and owner and owner not in name else (name or "")
    if not title:
        return None
    return WindowInfo(int(d.get(Quartz.kCGWindowNumber, 0)), title, x, y, w, h)


def list_windows() -> list[WindowInfo]:
    """On-screen, titled, normal-layer windows (front-most first). Titles need Screen Recording permission."""
    Quartz = _quartz()
    dicts = _window_dicts(Quartz)
    out = [w for d in dicts if (w := _info_of(Quartz, d)) is not None]
    if not out and any(int(d.get(Quartz.kCGWindowLayer, 1)) == 0 for d in dicts):
        raise SourceError("window titles are hidden from interview-guard (macOS shows them only to apps with "
                          "Screen Recording permission)",
                          hint="allow it in System Settings › Privacy & Security › Screen Recording, then "
                               "restart the app")
    return out


def window_rect(window_id: int) -> tuple[int, int, int, int] | None:
    """Current bounds of a window; None when it is off-screen/minimised; raises WindowGone when closed."""
    Quartz = _quartz()
    on = Quartz.CGWindowListCopyWindowInfo(Quartz.kCGWindowListOptionIncludingWindow, window_id) or []
    if not on:
        raise WindowGone("the window closed")
    d = on[0]
    if not bool(d.get(Quartz.kCGWindowIsOnscreen, False)):
        return None
    b = d.get(Quartz.kCGWindowBounds) or {}
    w, h = int(round(float(b.get("Width", 0)))), int(round(float(b.get("Height", 0))))
    if w <= 1 or h <= 1:
        return None
    return (int(round(float(b.get("X", 0)))), int(round(float(b.get("Y", 0)))), w, h)


class MacWindowVideoSource(RectGrabSource):
    """Frames of a macOS window, found by (part of) its title. UNTESTED."""

    kind_name = "window"

    def __init__(self, title: str = "", *, fps: float = 30.0, clock: Any = None, max_width: int = 0,
                 lost_after_s: float = 3.0) -> None:
        _require_macos("macOS window capture")
        super().__init__(fps=fps, clock=clock, max_width=max_width, lost_after_s=lost_after_s)
        windows = list_windows()
        match = find_window(title, windows)
        if match is None:
            raise window_not_found_error(title or "(a call app)", windows)
        self.window = match
        self.title = match.title
        self.name = f"window:{match.title}"

    def _locate(self, state) -> tuple[int, int, int, int] | None:
        try:
            return window_rect(self.window.id)
        except WindowGone:
            raise WindowGone(f"the call window '{self.title}' closed") from None

    def _hidden_message(self, seconds: float) -> str:
        return f"the call window '{self.title}' was minimised or off-screen for {seconds:.0f} s"


# ---------------------------------------------------------------------------------------------
# loopback device

_NO_DEVICE_HINT = ("install BlackHole 2ch (brew install blackhole-2ch), create a Multi-Output Device with your "
                   "speakers and BlackHole in Audio MIDI Setup and make it the system output (or the call "
                   "app's speaker); then use audio loopback")


def find_loopback_device(name: str | None = None) -> tuple[int, str]:
    """``(index, name)`` of an input device that is a loopback driver (or whose name contains ``name``)."""
    _require_macos("macOS loopback capture")
    sd = import_sounddevice()
    inputs = [(i, d["name"]) for i, d in enumerate(sd.query_devices()) if d["max_input_channels"] > 0]
    needles = [name] if name else list(LOOPBACK_DEVICE_NAMES)
    for needle in needles:
        for i, n in inputs:
            if needle.casefold() in n.casefold():
                return i, n
    seen = ", ".join(n for _, n in inputs) or "none"
    what = f"an input named like '{name}'" if name else "a loopback input device (BlackHole, Loopback, ...)"
    raise SourceError(f"no audio input device: found no {what}; inputs: {seen}", hint=_NO_DEVICE_HINT)


def loopback_status() -> LoopbackStatus:
    if not IS_MACOS:
        return LoopbackStatus(False, f"loopback devices are only looked up on macOS (this is {sys.platform})")
    try:
        _, n = find_loopback_device()
    except SourceError as e:
        return LoopbackStatus(False, str(e))
    return LoopbackStatus(True, f"call audio is recorded from the loopback device '{n}' (route the call's "
                                "output to it with a Multi-Output Device)", n)


class MacLoopbackAudioSource(SoundDeviceAudioSource):
    """Call audio from a loopback input device (BlackHole & co). UNTESTED."""

    def __init__(self, sample_rate: int = 16000, block_s: float = 0.1, device: str | None = None, *,
                 clock: Any = None, **kw: Any) -> None:
        idx, name = find_loopback_device(device)
        sd = import_sounddevice()
        ch = max(1, min(2, int(sd.query_devices(idx)["max_input_channels"])))
        super().__init__(idx, sample_rate=sample_rate, block_s=block_s, clock=clock, name=f"loopback:{name}",
                         label=f"the loopback device '{name}'", channels=ch, **kw)

    def _open_hint(self) -> str:
        return _NO_DEVICE_HINT

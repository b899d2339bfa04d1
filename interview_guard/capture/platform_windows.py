"""Windows capture backends: a call window by title (Win32 ``EnumWindows`` + mss) and WASAPI loopback.

UNTESTED: written against the Win32 and PortAudio documentation but never run (the project's
machines are Linux). Every entry point raises ``SourceError("... is only available on
Windows")`` elsewhere; nothing here pretends to work on other systems.

Windows:
* Coordinates are physical pixels: the process is made per-monitor DPI aware before the first
  lookup (mss does the same), so window rectangles and mss grabs agree on scaled displays.
* Listed windows are visible, not cloaked (hidden UWP/virtual-desktop windows), titled,
  top-level windows; the rectangle is the *client area* (no title bar or borders).
  A minimised window (``IsIconic``) counts as hidden; a destroyed one (``IsWindow`` false) as closed.
* Call audio: WASAPI loopback of the default output device. sounddevice 0.5.6 (the pinned
  version) has no ``WasapiSettings(loopback=True)``; newer releases may, and some PortAudio
  builds list loopback devices as inputs named ``"... [Loopback]"``. We use whichever exists,
  else explain how to route audio through a virtual cable.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from interview_guard.capture.audio_devices import LoopbackStatus, SoundDeviceAudioSource, import_sounddevice
from interview_guard.capture.screen import RectGrabSource, WindowGone, window_not_found_error
from interview_guard.capture.x11_windows import WindowInfo, find_window
from interview_guard.core.errors import SourceError

IS_WINDOWS = sys.platform == "win32"


def _require_windows(what: str) -> None:
    if not IS_WINDOWS:
        raise SourceError(f"{what} is only available on Windows (this is {sys.platform})",
                          hint="use capture.factory, which picks the right backend for this system")


# ---------------------------------------------------------------------------------------------
# Win32 via ctypes

_user32 = None
_dwmapi = None


def _win32():
    """(user32, dwmapi) with argument types set; DPI awareness enabled once."""
    global _user32, _dwmapi
    _require_windows("Windows window capture")
    if _user32 is None:
        import ctypes
        from ctypes import wintypes

        user32 = ctypes.WinDLL("user32", use_last_error=True)
        try:
            dwmapi = ctypes.WinDLL("dwmapi")
        except OSError:
            dwmapi = None
        # per-monitor DPI awareness v2 (Windows 10 1703+), else v1, else system aware
        try:
            user32.SetProcessDpiAwarenessContext(ctypes.c_void_p(-4))
        except (AttributeError, OSError):
            try:
                ctypes.WinDLL("shcore").SetProcessDpiAwareness(2)
            except (AttributeError, OSError):
                user32.SetProcessDPIAware()
        user32.EnumWindows.argtypes = [ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM),
                                       wintypes.LPARAM]
        user32.GetWindowTextLengthW.argtypes = [wintypes.HWND]
        user32.GetWindowTextW.argtypes = [wintypes.HWND, wintypes.LPWSTR, ctypes.c_int]
        user32.IsWindowVisible.argtypes = [wintypes.HWND]
        user32.IsWindow.argtypes = [wintypes.HWND]
        user32.IsIconic.argtypes = [wintypes.HWND]
        user32.GetClientRect.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.RECT)]
        user32.ClientToScreen.argtypes = [wintypes.HWND, ctypes.POINTER(wintypes.POINT)]
        _user32, _dwmapi = user32, dwmapi
    return _user32, _dwmapi


def _title(user32, hwnd) -> str:
    import ctypes

    n = user32.GetWindowTextLengthW(hwnd)
    if n <= 0:
        return ""
    buf = ctypes.create_unicode_buffer(n + 1)
    user32.GetWindowTextW(hwnd, buf, n + 1)
    return buf.value


def _cloaked(dwmapi, hwnd) -> bool:
    if dwmapi is None:
        return False
    import ctypes
    from ctypes import wintypes

    DWMWA_CLOAKED = 14
    val = wintypes.DWORD(0)
    res = dwmapi.DwmGetWindowAttribute(wintypes.HWND(hwnd), wintypes.DWORD(DWMWA_CLOAKED),
                                       ctypes.byref(val), ctypes.sizeof(val))
    return res == 0 and val.value != 0


def client_rect(hwnd: int) -> tuple[int, int, int, int] | None:
    """Client area ``(x, y, w, h)`` in screen pixels; None when minimised/hidden; raises WindowGone."""
    import ctypes
    from ctypes import wintypes

    user32, _ = _win32()
    if not user32.IsWindow(hwnd):
        raise WindowGone("the window closed")
    if user32.IsIconic(hwnd) or not user32.IsWindowVisible(hwnd):
        return None
    rc = wintypes.RECT()
    if not user32.GetClientRect(hwnd, ctypes.byref(rc)):
        if not user32.IsWindow(hwnd):
            raise WindowGone("the window closed")
        return None
    pt = wintypes.POINT(0, 0)
    if not user32.ClientToScreen(hwnd, ctypes.byref(pt)):
        return None
    w, h = rc.right - rc.left, rc.bottom - rc.top
    if w <= 1 or h <= 1:
        return None
    return (pt.x, pt.y, w, h)


def list_windows() -> list[WindowInfo]:
    """Visible, titled, uncloaked top-level windows with their client rectangles (top-most first)."""
    import ctypes
    from ctypes import wintypes

    user32, dwmapi = _win32()
    hwnds: list[int] = []

    @ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.HWND, wintypes.LPARAM)
    def _cb(hwnd, _lparam):
        hwnds.append(int(hwnd or 0))
        return True

    user32.EnumWindows(_cb, 0)
    out = []
    for hwnd in hwnds:
        if not hwnd or not user32.IsWindowVisible(hwnd) or _cloaked(dwmapi, hwnd):
            continue
        title = _title(user32, hwnd)
        if not title:
            continue
        try:
            rect = client_rect(hwnd)
        except WindowGone:
            continue
        if rect is None:
            continue
        out.append(WindowInfo(hwnd, title, *rect))
    return out


class WindowsWindowVideoSource(RectGrabSource):
    """Frames of a Windows window's client area, found by (part of) its title. UNTESTED."""

    kind_name = "window"

    def __init__(self, title: str = "", *, fps: float = 30.0, clock: Any = None, max_width: int = 0,
                 lost_after_s: float = 3.0) -> None:
        _require_windows("Windows window capture")
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
            return client_rect(self.window.id)
        except WindowGone:
            raise WindowGone(f"the call window '{self.title}' closed") from None

    def _hidden_message(self, seconds: float) -> str:
        return f"the call window '{self.title}' was minimised or hidden for {seconds:.0f} s"


# ---------------------------------------------------------------------------------------------
# WASAPI loopback

_NO_LOOPBACK_HINT = ("install a virtual audio cable (e.g. VB-Audio CABLE), set it as the call app's speaker "
                     "and record it with audio mic:'CABLE Output', or update sounddevice to a release with "
                     "WASAPI loopback support")


def _wasapi_loopback_plan(output_device: str | None = None):
    """``(device index, extra_settings, channels, description)`` for loopback, or raise SourceError."""
    _require_windows("WASAPI loopback capture")
    sd = import_sounddevice()
    apis = [i for i, a in enumerate(sd.query_hostapis()) if "WASAPI" in a["name"]]
    if not apis:
        raise SourceError("no audio input device: PortAudio has no WASAPI host API, so call audio cannot be "
                          "captured", hint=_NO_LOOPBACK_HINT)
    api = apis[0]
    api_info = sd.query_hostapis(api)
    devices = list(sd.query_devices())
    outs = [(i, d) for i, d in enumerate(devices) if d["hostapi"] == api and d["max_output_channels"] > 0]
    if output_device:
        needle = output_device.casefold()
        chosen = [(i, d) for i, d in outs if needle in d["name"].casefold()]
        if not chosen:
            raise SourceError(f"no audio output named like '{output_device}'; outputs: "
                              + ", ".join(d["name"] for _, d in outs))
        out_idx, out = chosen[0]
    else:
        out_idx = api_info["default_output_device"]
        if out_idx is None or out_idx < 0:
            raise SourceError("no audio output device is active, so there is no call audio to capture",
                              hint="check Sound settings")
        out = devices[out_idx]
    # 1) sounddevice with WasapiSettings(loopback=True)
    if "loopback" in inspect.signature(sd.WasapiSettings).parameters:
        settings = sd.WasapiSettings(loopback=True)  # type: ignore[call-arg]
        ch = max(1, min(2, int(out["max_output_channels"])))
        return out_idx, settings, ch, f"WASAPI loopback of {out['name']}"
    # 2) PortAudio builds that list loopback devices as inputs ("Speakers (...) [Loopback]")
    loops = [(i, d) for i, d in enumerate(devices)
             if d["hostapi"] == api and d["max_input_channels"] > 0 and "[loopback]" in d["name"].casefold()]
    if loops:
        same = [(i, d) for i, d in loops if d["name"].casefold().startswith(out["name"].casefold())]
        i, d = (same or loops)[0]
        return i, None, max(1, min(2, int(d["max_input_channels"]))), f"WASAPI loopback device {d['name']}"
    raise SourceError(f"WASAPI loopback is not supported by this sounddevice ({sd.__version__}) / PortAudio "
                      "build, so call audio cannot be captured directly", hint=_NO_LOOPBACK_HINT)


def loopback_status() -> LoopbackStatus:
    if not IS_WINDOWS:
        return LoopbackStatus(False, f"WASAPI loopback is only available on Windows (this is {sys.platform})")
    try:
        _, _, _, desc = _wasapi_loopback_plan()
    except SourceError as e:
        return LoopbackStatus(False, str(e))
    return LoopbackStatus(True, f"call audio is recorded by {desc}")


class WasapiLoopbackAudioSource(SoundDeviceAudioSource):
    """What the default (or named) output device plays, via WASAPI loopback. UNTESTED."""

    def __init__(self, sample_rate: int = 16000, block_s: float = 0.1, output_device: str | None = None, *,
                 clock: Any = None, **kw: Any) -> None:
        idx, settings, channels, desc = _wasapi_loopback_plan(output_device)
        sd = import_sounddevice()
        if settings is None:
            settings = sd.WasapiSettings(auto_convert=True)  # let WASAPI resample to our rate
        elif "auto_convert" in inspect.signature(sd.WasapiSettings).parameters:
            settings = sd.WasapiSettings(loopback=True, auto_convert=True)  # type: ignore[call-arg]
        super().__init__(idx, sample_rate=sample_rate, block_s=block_s, clock=clock, name="loopback:wasapi",
                         label=desc, extra_settings=settings, channels=channels, **kw)

    def _open_hint(self) -> str:
        return "check that the output device is active (play something), or " + _NO_LOOPBACK_HINT

"""Live video from the screen: a call window found by title, or a fixed screen region.

Both grab with ``mss`` at a steady frame rate and stamp each frame with the session clock at
the moment of the grab. The ``mss`` instance (and, for windows, the X connection) is created
inside ``__iter__`` so it belongs to the capture thread: ``mss`` objects are not thread-safe.

``WindowVideoSource`` re-reads the window's geometry before every grab, so the capture follows
the window when it is moved or resized (frames then change size). Only the part of the window
that lies on the screen is grabbed; whatever covers the window on screen is captured too (a
screen grab sees what the interviewer sees). When the window is closed, the source ends with
``SourceEvent(LOST, "the call window 'X' closed ...")``; when it stays hidden (minimised,
unmapped or moved fully off-screen) for ``lost_after_s`` it ends the same way. It never raises
during iteration: X or grab failures end it with a LOST/ERROR event after every good frame.

Linux (X11/XWayland) window lookup lives in :mod:`x11_windows`; the Windows and macOS window
sources in :mod:`platform_windows` / :mod:`platform_macos` reuse :class:`RectGrabSource`.
"""

from __future__ import annotations

import abc
import sys
import time
from typing import Any, Iterator

import numpy as np

from interview_guard.capture.base import VideoSource
from interview_guard.capture.x11_windows import (
    WindowInfo,
    bgra_to_rgb,
    candidate_call_windows,
    describe_windows,
    find_window,
    list_windows,
    open_display,
)
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import SourceError
from interview_guard.core.types import SourceEvent, SourceEventKind, VideoFrame


class WindowGone(Exception):
    """Raised by ``_locate`` when the window no longer exists; ``str()`` is the user message."""


class RectGrabSource(VideoSource):
    """Shared capture loop: locate a rectangle, grab it with mss, stamp, pace to ``fps``.

    Subclasses implement ``_begin`` (per-thread handles), ``_locate`` (the rectangle to grab
    in virtual-screen coordinates, or None while hidden; raises ``WindowGone``) and ``_end``.
    Statistics for diagnostics: ``grabbed``, ``grab_ms`` (median of the last 100 grabs incl.
    BGRA→RGB), ``late_ticks`` (ticks skipped because a grab overran its slot).
    """

    kind_name = "screen"

    def __init__(self, *, fps: float = 30.0, clock: Any = None, max_width: int = 0,
                 lost_after_s: float = 3.0, display: str | None = None) -> None:
        super().__init__()
        if not fps or fps <= 0:
            raise SourceError(f"the capture frame rate must be positive (got {fps})")
        self.fps = float(fps)
        self.fps_hint = self.fps
        self.clock = clock if clock is not None else SessionClock()
        self.max_width = int(max_width)
        self.lost_after_s = float(lost_after_s)
        self.display = display
        self.grabbed = 0
        self.late_ticks = 0
        self._grab_times: list[float] = []

    # -- hooks ------------------------------------------------------------------------------
    def _begin(self) -> Any:
        return None

    @abc.abstractmethod
    def _locate(self, state: Any) -> tuple[int, int, int, int] | None:
        ...

    def _end(self, state: Any) -> None:
        return None

    def _hidden_message(self, seconds: float) -> str:
        return f"the captured area was off-screen for {seconds:.0f} s"

    def _closed_message(self, reason: str) -> str:
        return reason

    # -- the loop ---------------------------------------------------------------------------
    @property
    def grab_ms(self) -> float:
        return float(np.median(self._grab_times)) * 1000.0 if self._grab_times else float("nan")

    def _new_mss(self):
        import mss

        if self.display and sys.platform.startswith("linux"):
            return mss.MSS(display=self.display)
        return mss.MSS()

    def __iter__(self) -> Iterator[VideoFrame | SourceEvent]:
        import mss.exception

        index = 0
        last_t_ns = -1

        def event(kind: SourceEventKind, msg: str) -> SourceEvent:
            return SourceEvent(max(last_t_ns, 0), kind, msg, self.name)

        try:
            sct = self._new_mss()
        except mss.exception.ScreenShotError as e:
            yield event(SourceEventKind.ERROR, f"cannot start screen capture ({_short(e)})")
            return
        state = None
        try:
            try:
                state = self._begin()
            except SourceError as e:
                yield event(SourceEventKind.ERROR, str(e))
                return
            try:
                screen = dict(sct.monitors[0])
            except mss.exception.ScreenShotError as e:
                yield event(SourceEventKind.ERROR, f"cannot read the screen layout ({_short(e)})")
                return
            period = 1.0 / self.fps
            next_tick = time.monotonic()
            hidden_since: float | None = None
            grab_errors = 0
            while True:
                if self.stopping:
                    yield event(SourceEventKind.ENDED, "stopped")
                    return
                try:
                    rect = self._locate(state)
                except WindowGone as e:
                    yield event(SourceEventKind.LOST, self._closed_message(str(e)) +
                                f" after {index} frames; capture stopped (the frames before were kept)")
                    return
                clipped = _clip(rect, screen) if rect is not None else None
                now = time.monotonic()
                if clipped is None:
                    hidden_since = hidden_since if hidden_since is not None else now
                    if now - hidden_since >= self.lost_after_s:
                        yield event(SourceEventKind.LOST, self._hidden_message(now - hidden_since) +
                                    f" after {index} frames; capture stopped (the frames before were kept)")
                        return
                else:
                    hidden_since = None
                    x, y, w, h = clipped
                    t_grab = time.perf_counter()
                    t_ns = int(self.clock.now_ns())
                    try:
                        shot = sct.grab({"left": x, "top": y, "width": w, "height": h})
                    except mss.exception.ScreenShotError as e:
                        # the window may have moved/closed between locate and grab: retry next tick
                        grab_errors += 1
                        if grab_errors >= 30:
                            yield event(SourceEventKind.ERROR,
                                        f"screen grabs keep failing ({_short(e)}) after {index} frames")
                            return
                    else:
                        grab_errors = 0
                        img = bgra_to_rgb(shot)
                        if self.max_width and img.shape[1] > self.max_width:
                            img = _downscale(img, self.max_width)
                        self._grab_times.append(time.perf_counter() - t_grab)
                        if len(self._grab_times) > 100:
                            del self._grab_times[0]
                        if t_ns <= last_t_ns:
                            t_ns = last_t_ns + 1
                        last_t_ns = t_ns
                        self.grabbed += 1
                        yield VideoFrame(t_ns=t_ns, index=index, image=img, source=self.name)
                        index += 1
                # pace: sleep to the next tick; if we fell behind, skip missed ticks (never burst)
                next_tick += period
                now = time.monotonic()
                if next_tick < now:
                    missed = int((now - next_tick) / period) + 1
                    self.late_ticks += missed
                    next_tick += missed * period
                self._stop.wait(max(0.0, next_tick - now))
        except Exception as e:  # noqa: BLE001 - a live source must end with an event, never crash the pipeline
            yield event(SourceEventKind.ERROR, f"screen capture failed after {index} frames ({_short(e)})")
        finally:
            try:
                self._end(state)
            finally:
                sct.close()


def _clip(rect: tuple[int, int, int, int], screen: dict) -> tuple[int, int, int, int] | None:
    x, y, w, h = rect
    x0, y0 = max(x, screen["left"]), max(y, screen["top"])
    x1 = min(x + w, screen["left"] + screen["width"])
    y1 = min(y + h, screen["top"] + screen["height"])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    return (x0, y0, x1 - x0, y1 - y0)


def _downscale(img: np.ndarray, max_width: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    nh = max(2, int(round(h * max_width / w / 2)) * 2)
    return np.ascontiguousarray(cv2.resize(img, (max_width, nh), interpolation=cv2.INTER_AREA))


def _short(e: BaseException) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return s[:160]


# ---------------------------------------------------------------------------------------------
# Linux / X11


def window_not_found_error(title: str, windows: list[WindowInfo]) -> SourceError:
    calls = candidate_call_windows(windows)
    if calls:
        hint = "pick one of the call windows: " + ", ".join(f"'{w.title}'" for w in calls[:6])
    else:
        hint = "start or join the call first, then pick its window (titles are matched case-insensitively)"
    return SourceError(f"no open window has a title containing '{title}'; windows I can see: "
                       f"{describe_windows(windows)}", hint=hint)


class WindowVideoSource(RectGrabSource):
    """Frames of one X11 window's client area, found by (part of) its title.

    ``title``: case-insensitive substring; exact titles and known call apps win ties (see
    :func:`x11_windows.find_window`). ``window_id``: capture this X window instead.
    ``display``: X display name (default ``$DISPLAY``). Raises ``SourceError`` at construction
    when there is no display or no matching window (the message lists the windows it sees).
    """

    kind_name = "window"

    def __init__(self, title: str = "", *, window_id: int | None = None, fps: float = 30.0, clock: Any = None,
                 display: str | None = None, max_width: int = 0, lost_after_s: float = 3.0) -> None:
        super().__init__(fps=fps, clock=clock, max_width=max_width, lost_after_s=lost_after_s, display=display)
        if not sys.platform.startswith("linux"):
            raise SourceError(f"X11 window capture is only available on Linux (this is {sys.platform})",
                              hint="use capture.factory.open_video_source('window:<title>'), which picks "
                                   "the right backend")
        d = open_display(display)
        try:
            windows = list_windows(display=d)
            if window_id is not None:
                match = next((w for w in windows if w.id == window_id), None)
                if match is None:
                    raise SourceError(f"X window 0x{window_id:x} is not open (or not visible)",
                                      hint=f"windows I can see: {describe_windows(windows)}")
            else:
                match = find_window(title, windows)
                if match is None:
                    if not title.strip():
                        raise SourceError("no video-call window is open (looked for titles like "
                                          "'Zoom Meeting', 'Microsoft Teams', 'Meet -'); windows I can see: "
                                          f"{describe_windows(windows)}",
                                          hint="join the call first, or name the window: window:<title>")
                    raise window_not_found_error(title, windows)
        finally:
            d.close()
        self.window: WindowInfo = match
        self.title = match.title
        self.name = f"window:{match.title}"

    def _begin(self):
        return open_display(self.display)

    def _locate(self, d) -> tuple[int, int, int, int] | None:
        from Xlib import error as xerror

        from interview_guard.capture.x11_windows import window_geometry

        try:
            x, y, w, h, viewable = window_geometry(d, self.window.id)
        except (xerror.BadWindow, xerror.BadDrawable, xerror.BadMatch):
            raise WindowGone(f"the call window '{self.title}' closed") from None
        except (xerror.ConnectionClosedError, OSError) as e:
            raise WindowGone(f"the X display closed while capturing '{self.title}' ({_short(e)})") from None
        if not viewable or w <= 1 or h <= 1:
            return None
        return (x, y, w, h)

    def _end(self, d) -> None:
        if d is not None:
            try:
                d.close()
            except Exception:  # noqa: BLE001 - the connection may already be gone
                pass

    def _hidden_message(self, seconds: float) -> str:
        return (f"the call window '{self.title}' was hidden (minimised, unmapped or off-screen) "
                f"for {seconds:.0f} s")


class ScreenRegionVideoSource(RectGrabSource):
    """A fixed rectangle of the screen, or a whole monitor.

    Give ``x, y, width, height`` (virtual-screen pixels) or ``monitor`` (mss numbering: 0 = all
    monitors together, 1 = the first monitor, ...). Works wherever ``mss`` does (X11, Windows,
    macOS). The rectangle is clipped to the screen; one entirely off-screen is a ``SourceError``.
    """

    def __init__(self, x: int | None = None, y: int | None = None, width: int | None = None,
                 height: int | None = None, *, monitor: int | None = None, fps: float = 30.0,
                 clock: Any = None, display: str | None = None, max_width: int = 0) -> None:
        super().__init__(fps=fps, clock=clock, max_width=max_width, lost_after_s=3.0, display=display)
        import mss.exception

        region = (x, y, width, height)
        if monitor is None and any(v is None for v in region):
            if all(v is None for v in region):
                monitor = 1
            else:
                raise SourceError("a screen region needs all of x, y, width and height",
                                  hint="write it as screen:<x>,<y>,<w>,<h>, e.g. screen:0,0,1280,720")
        if sys.platform.startswith("linux"):
            import os

            if not display and not os.environ.get("DISPLAY"):
                raise SourceError("no X display ($DISPLAY is not set), so the screen cannot be captured",
                                  hint="run interview-guard inside your desktop session, or set DISPLAY=:0")
        try:
            with self._new_mss() as sct:
                monitors = [dict(m) for m in sct.monitors]
        except mss.exception.ScreenShotError as e:
            raise SourceError(f"cannot open the screen for capture ({_short(e)})",
                              hint="check that a desktop session is running (X11 or XWayland)") from None
        if monitor is not None:
            if not 0 <= monitor < len(monitors):
                raise SourceError(f"there is no monitor {monitor}; this screen has {len(monitors) - 1} "
                                  "monitor(s) (0 = all of them together)")
            m = monitors[monitor]
            region = (m["left"], m["top"], m["width"], m["height"])
            self.name = f"screen:monitor{monitor}"
        else:
            if width <= 1 or height <= 1:
                raise SourceError(f"the screen region {width}x{height} is empty",
                                  hint="width and height must be at least 2 pixels")
            self.name = f"screen:{x},{y},{width},{height}"
        if _clip(region, monitors[0]) is None:
            s = monitors[0]
            raise SourceError(f"the screen region {region} lies outside the screen "
                              f"({s['width']}x{s['height']} at {s['left']},{s['top']})")
        self.region = tuple(int(v) for v in region)

    def _locate(self, state) -> tuple[int, int, int, int]:
        return self.region

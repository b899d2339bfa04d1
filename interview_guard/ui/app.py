"""Start the desktop app: ``run_gui(spec)`` (interactive) or ``run_gui(spec, seconds=N, screenshot=PNG)``.

With no spec the app looks for a running call (``candidate_call_windows()``): when one is found
it is *offered* (one click or Ctrl+R starts it); otherwise the demo recording starts, so the
app shows what it does even with no call running.

Timed mode (tests, the frozen-app smoke test): start the source, run ``seconds``, save a PNG of
the main window (``QWidget.grab()``), stop the session, join its threads and return an exit code:
0 when no problem was shown, 2 when one was (source could not open, models failed their check,
source lost or failed mid-run).
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from interview_guard.ui.main_window import MainWindow
from interview_guard.pipeline.live import DEMO_SPEC

APP_NAME = "interview-guard"
START_CAP_S = 90.0  # timed mode: longest wait for the analysis to start before giving up


def resource_root() -> Path:
    """The folder holding ``ui/`` and ``assets/``: the frozen bundle, else the repository root."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parents[2]


def stylesheet_path() -> Path:
    return resource_root() / "ui" / "style.qss"


def ensure_app() -> tuple[QApplication, bool]:
    """The running QApplication, or a new one. Returns ``(app, created)``."""
    app = QApplication.instance()
    if app is not None:
        return app, False  # type: ignore[return-value]
    app = QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setStyle("Fusion")
    return app, True


def apply_style(app: QApplication) -> bool:
    """Load ``ui/style.qss`` (a missing file leaves Qt's default look). True if applied."""
    path = stylesheet_path()
    try:
        app.setStyleSheet(path.read_text(encoding="utf-8"))
        return True
    except OSError:
        return False


def find_call_window() -> str | None:
    """Title of the best running call window, or None (also when windows can't be listed)."""
    try:
        from interview_guard.capture.factory import candidate_call_windows

        wins = candidate_call_windows()
    except Exception:  # noqa: BLE001 - no X display, other OS, module missing: no offer, start the demo
        return None
    return wins[0].title if wins else None


def save_screenshot(widget, path: str | Path) -> bool:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    return bool(widget.grab().save(str(p), "PNG"))


def _flush_deletes() -> None:
    QCoreApplication.sendPostedEvents(None, int(QEvent.Type.DeferredDelete))


def run_gui(source_spec: str | None = None, *, seconds: float | None = None,
            screenshot: str | None = None) -> int:
    """Open the main window on ``source_spec`` (``window:<title>``, ``screen``, ``camera:<i>``,
    ``file:<path>``, ``demo``; None: offer a running call window, else the demo).

    ``seconds``: run this long, then quit (non-interactive). ``screenshot``: save a PNG of the
    main window just before quitting (timed mode) or when the window closes (interactive).
    """
    app, created = ensure_app()
    apply_style(app)
    win = MainWindow()
    win.show()
    timed = seconds is not None

    spec = source_spec
    if spec is None:
        title = None if timed else find_call_window()
        if title:
            win.offer_call_window(title)
        else:
            spec = DEMO_SPEC
    if not timed:
        if spec is not None:
            win.start_source(spec)
        return _run_interactive(app, created, win, screenshot)

    # Timed mode: the countdown starts once the analysis runs (model loading can take seconds on
    # a busy machine) or as soon as it is clear that it won't; a safety cap ends it regardless.
    countdown = QTimer()
    countdown.setSingleShot(True)
    countdown.setInterval(max(0, int(float(seconds) * 1000)))

    def arm(*_args) -> None:
        if not countdown.isActive():
            countdown.start()

    win.bridge.started.connect(arm)
    win.bridge.start_failed.connect(arm)
    win.session_finished.connect(arm)
    if spec is None or not win.start_source(spec):
        arm()
    loop = QEventLoop()
    result = {"code": 0, "shot_ok": True}

    def finish() -> None:
        if result.get("done"):
            return
        result["done"] = True
        if screenshot:
            result["shot_ok"] = save_screenshot(win, screenshot)
        win.shutdown()
        if win.last_error is not None:
            result["code"] = 2
            print(f"error: {win.last_error}", file=sys.stderr)
        if not result["shot_ok"]:
            print(f"error: could not save the screenshot to {screenshot}", file=sys.stderr)
            result["code"] = result["code"] or 1
        win.close()
        loop.quit()

    countdown.timeout.connect(finish)
    cap = QTimer()
    cap.setSingleShot(True)
    cap.timeout.connect(finish)
    cap.start(int((float(seconds) + START_CAP_S) * 1000))
    loop.exec()
    countdown.stop()
    cap.stop()
    win.deleteLater()
    _flush_deletes()
    return int(result["code"])


def _run_interactive(app: QApplication, created: bool, win: MainWindow, screenshot: str | None) -> int:
    if screenshot:
        win.closing.connect(lambda: save_screenshot(win, screenshot))
    # Ctrl+C in the terminal closes the window cleanly (Python handlers run between Qt events).
    wake = QTimer()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, lambda *_: win.close())
        wake.timeout.connect(lambda: None)
        wake.start(250)
    if created:
        app.setQuitOnLastWindowClosed(True)
        code = app.exec()
    else:  # an app already runs (embedding, tests): wait for this window only
        loop = QEventLoop()
        win.closing.connect(loop.quit)
        loop.exec()
        code = 0
    wake.stop()
    win.shutdown()
    return int(code)

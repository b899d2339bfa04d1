"""A private Xvfb X server for tests (real X, no mocks).

``XvfbServer().start()`` runs ``Xvfb -displayfd N -screen 0 1920x1080x24 -nolisten tcp``.
``-displayfd`` makes Xvfb itself pick a free display number and write it to the pipe once it
accepts connections: no race with other test runs or other engineers' Xvfb instances, no
guessing of ``/tmp/.X*-lock`` files. ``stop()`` terminates it (SIGTERM, then SIGKILL).

Only standard library + python-xlib; usable outside pytest (``python -m`` style scripts too).
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time


class XvfbError(RuntimeError):
    pass


class XvfbServer:
    """One Xvfb process. ``display`` is ``":NN"`` once started."""

    def __init__(self, width: int = 1920, height: int = 1080, depth: int = 24, *, start_timeout_s: float = 10.0):
        self.width, self.height, self.depth = width, height, depth
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.display: str | None = None
        self._log = None  # Xvfb's stderr goes to a temp file (a pipe could fill up and block it)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> "XvfbServer":
        exe = shutil.which("Xvfb")
        if exe is None:
            raise XvfbError("Xvfb is not installed (apt install xvfb)")
        rfd, wfd = os.pipe()
        self._log = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [exe, "-displayfd", str(wfd), "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
                 "-nolisten", "tcp", "-noreset"],
                pass_fds=(wfd,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
                start_new_session=True)
            os.close(wfd)
            wfd = -1
            number = self._read_display_number(rfd)
        finally:
            if wfd >= 0:
                os.close(wfd)
            os.close(rfd)
        self.display = f":{number}"
        self._wait_connectable()
        return self

    def _read_display_number(self, rfd: int) -> int:
        deadline = time.monotonic() + self.start_timeout_s
        buf = b""
        while time.monotonic() < deadline:
            r, _, _ = select.select([rfd], [], [], 0.1)
            if r:
                chunk = os.read(rfd, 64)
                if not chunk:  # Xvfb closed the pipe without writing: it failed
                    break
                buf += chunk
                if buf.endswith(b"\n"):
                    return int(buf.strip())
            if self.proc is not None and self.proc.poll() is not None:
                break
        err = self._stderr_tail()
        self.stop()
        raise XvfbError(f"Xvfb did not start within {self.start_timeout_s:.0f} s: {err}")

    def _wait_connectable(self) -> None:
        from Xlib import display as xdisplay

        deadline = time.monotonic() + self.start_timeout_s
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                d = xdisplay.Display(self.display)
                d.close()
                return
            except Exception as e:  # noqa: BLE001 - retry until the deadline
                last = e
                time.sleep(0.05)
        self.stop()
        raise XvfbError(f"cannot connect to Xvfb on {self.display}: {last}")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.seek(0)
            return self._log.read().decode(errors="replace").strip()[-500:] or "(no output)"
        except Exception:  # noqa: BLE001
            return ""

    def stop(self) -> None:
        p, self.proc = self.proc, None
        if p is None:
            return
        log, self._log = self._log, None
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        if log is not None:
            log.close()

    @property
    def env(self) -> dict[str, str]:
        """Environment for a child that should draw on this server."""
        assert self.display, "start() first"
        return {"DISPLAY": self.display}

    def __enter__(self) -> "XvfbServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

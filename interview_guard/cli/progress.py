"""A dependency-free progress bar on stderr (silent when stderr is not a terminal unless forced)."""

from __future__ import annotations

import sys
import time


class ProgressBar:
    def __init__(self, label: str, *, stream=None, force: bool = False, width: int = 30) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = force or self.stream.isatty()
        self.width = width
        self._t0 = time.monotonic()
        self._last = 0.0
        self._last_line_t = 0.0

    def __call__(self, done_s: float, total_s: float) -> None:
        now = time.monotonic()
        if not self.enabled:
            # non-interactive: one line every 10 s so logs show life
            if now - self._last_line_t >= 10.0:
                self._last_line_t = now
                pct = f"{100 * done_s / total_s:.0f}%" if total_s else f"{done_s:.0f} s"
                print(f"{self.label}: {pct}", file=self.stream, flush=True)
            return
        if now - self._last < 0.1:
            return
        self._last = now
        frac = min(1.0, done_s / total_s) if total_s else 0.0
        fill = int(frac * self.width)
        elapsed = now - self._t0
        eta = (elapsed / frac - elapsed) if frac > 0.01 else 0.0
        bar = "#" * fill + "-" * (self.width - fill)
        self.stream.write(f"\r{self.label} [{bar}] {100 * frac:5.1f}%  {done_s:6.1f}/{total_s:.1f} s  ETA {eta:4.0f} s")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()

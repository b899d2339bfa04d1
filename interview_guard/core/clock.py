"""Session clocks: the only place that reads wall time (live capture stamps frames with it)."""

from __future__ import annotations

import time


class SessionClock:
    """Monotonic nanoseconds since the session started."""

    def __init__(self) -> None:
        self._t0 = time.monotonic_ns()

    def now_ns(self) -> int:
        return time.monotonic_ns() - self._t0


class ManualClock:
    """A clock tests advance by hand."""

    def __init__(self, t_ns: int = 0) -> None:
        self.t_ns = t_ns

    def now_ns(self) -> int:
        return self.t_ns

    def advance(self, dt_ns: int) -> None:
        self.t_ns += dt_ns

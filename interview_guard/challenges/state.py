"""A pure challenge state machine, driven only by observation timestamps.

    IDLE ──request──▶ ARMED ──first observation t0──▶ COUNTDOWN [t0, t0+c)
         ──t ≥ t0+c──▶ WINDOW [t0+c, t0+c+w) ──t ≥ t0+c+w──▶ SCORING ──scored──▶ DONE
    any state ──cancel──▶ CANCELLED;  ARMED/COUNTDOWN/WINDOW ──end of stream──▶ SCORING (short)

It never reads a clock: ``update(t_ns)`` is called with each observation's ``t_ns`` and returns
the transitions that happened, so live runs, offline runs and tests behave identically. A
*scheduled* machine (offline analysis of a recording) is built with explicit window times and
treats everything before the window start as countdown/baseline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from interview_guard.core.types import NS_PER_S


class Phase(str, enum.Enum):
    IDLE = "idle"
    ARMED = "armed"             # requested; waiting for the first observation to stamp t0
    COUNTDOWN = "countdown"     # the instruction is read; frontal baseline is collected
    WINDOW = "window"           # the candidate performs; hands run on every frame
    SCORING = "scoring"
    DONE = "done"
    CANCELLED = "cancelled"


ACTIVE = (Phase.ARMED, Phase.COUNTDOWN, Phase.WINDOW, Phase.SCORING)


@dataclass(frozen=True, slots=True)
class Transition:
    phase: Phase
    t_ns: int


class ChallengeState:
    def __init__(self, countdown_s: float, window_s: float) -> None:
        if countdown_s < 0 or window_s <= 0:
            raise ValueError("countdown must be >= 0 and window > 0 seconds")
        self.countdown_ns = int(round(countdown_s * NS_PER_S))
        self.window_ns = int(round(window_s * NS_PER_S))
        self.phase = Phase.IDLE
        self.t0: int | None = None
        self.window_start: int | None = None
        self.window_end: int | None = None
        self.last_t: int | None = None
        self.cut_short = False

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def scheduled(cls, window_start_ns: int, window_end_ns: int, *, baseline_s: float = 2.0) -> "ChallengeState":
        """A machine whose window is known in advance (offline analysis of a recording span)."""
        if window_end_ns <= window_start_ns:
            raise ValueError("the challenge window must end after it starts")
        s = cls(baseline_s, (window_end_ns - window_start_ns) / NS_PER_S)
        s.phase = Phase.ARMED
        s.t0 = window_start_ns - s.countdown_ns
        s.window_start = window_start_ns
        s.window_end = window_end_ns
        return s

    # -- control ---------------------------------------------------------------------------
    def request(self) -> None:
        if self.phase in ACTIVE:
            raise RuntimeError("a challenge is already running")
        self.phase = Phase.ARMED
        self.t0 = self.window_start = self.window_end = None
        self.cut_short = False

    def cancel(self) -> None:
        if self.phase in ACTIVE:
            self.phase = Phase.CANCELLED

    def scored(self) -> None:
        if self.phase is Phase.SCORING:
            self.phase = Phase.DONE

    def end_of_stream(self) -> list[Transition]:
        """The stream ended: an open window is scored with what it has (marked ``cut_short``)."""
        if self.phase in (Phase.COUNTDOWN, Phase.WINDOW, Phase.ARMED) and self.t0 is not None:
            self.cut_short = True
            self.phase = Phase.SCORING
            return [Transition(Phase.SCORING, self.last_t if self.last_t is not None else self.t0)]
        if self.phase is Phase.ARMED:
            self.phase = Phase.CANCELLED
        return []

    # -- time ------------------------------------------------------------------------------
    def update(self, t_ns: int) -> list[Transition]:
        """Advance to observation time ``t_ns``; returns the transitions in order."""
        out: list[Transition] = []
        self.last_t = t_ns
        if self.phase is Phase.ARMED:
            if self.t0 is None:                         # live: the countdown starts at the next frame
                self.t0 = t_ns
                self.window_start = t_ns + self.countdown_ns
                self.window_end = self.window_start + self.window_ns
            if t_ns >= self.t0:
                self.phase = Phase.COUNTDOWN
                out.append(Transition(Phase.COUNTDOWN, t_ns))
        if self.phase is Phase.COUNTDOWN and self.window_start is not None and t_ns >= self.window_start:
            self.phase = Phase.WINDOW
            out.append(Transition(Phase.WINDOW, t_ns))
        if self.phase is Phase.WINDOW and self.window_end is not None and t_ns >= self.window_end:
            self.phase = Phase.SCORING
            out.append(Transition(Phase.SCORING, t_ns))
        return out

    # -- read-outs -------------------------------------------------------------------------
    def seconds_left(self, t_ns: int | None = None) -> float:
        """Seconds until the next phase boundary (countdown → window → end); 0 otherwise."""
        t = self.last_t if t_ns is None else t_ns
        if t is None:
            return self.countdown_ns / NS_PER_S if self.phase is Phase.ARMED else 0.0
        if self.phase is Phase.COUNTDOWN and self.window_start is not None:
            return max(0.0, (self.window_start - t) / NS_PER_S)
        if self.phase is Phase.WINDOW and self.window_end is not None:
            return max(0.0, (self.window_end - t) / NS_PER_S)
        if self.phase is Phase.ARMED:
            return self.countdown_ns / NS_PER_S
        return 0.0

    def progress(self, t_ns: int | None = None) -> float:
        """0..1 through the current phase (countdown or window); 1 once scoring starts."""
        t = self.last_t if t_ns is None else t_ns
        if self.phase in (Phase.SCORING, Phase.DONE):
            return 1.0
        if t is None or self.t0 is None:
            return 0.0
        if self.phase is Phase.COUNTDOWN and self.window_start is not None:
            span = max(1, self.window_start - self.t0)
            return min(1.0, max(0.0, (t - self.t0) / span))
        if self.phase is Phase.WINDOW and self.window_start is not None and self.window_end is not None:
            return min(1.0, max(0.0, (t - self.window_start) / max(1, self.window_end - self.window_start)))
        return 0.0

    def in_baseline(self, t_ns: int) -> bool:
        return self.window_start is not None and self.t0 is not None and self.t0 <= t_ns < self.window_start

    def in_window(self, t_ns: int) -> bool:
        return (self.window_start is not None and self.window_end is not None
                and self.window_start <= t_ns < self.window_end)

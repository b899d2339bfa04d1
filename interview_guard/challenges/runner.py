"""The challenge runner: the pipeline calls it once per observation; the UI asks it for a challenge.

``ChallengeRunner`` looks like a video detector (``process(window) -> Evidence | None``,
``reset()``), so it rides in ``Analyzer.video_detectors`` and its Evidence flows wherever the
detectors' does (fusion, the evidence list, the recorder of flagged segments). Install it with
``install(analyzer, runner)`` or wrap an analyzer factory with ``with_runner(factory, runner)``.

Threads: ``request()``, ``cancel()`` and ``snapshot()`` are safe from any thread (the UI);
``process()``/``observe()``/``finish()`` run on the analysis worker only. Time comes only from
observation timestamps (``state.ChallengeState``).

While a challenge is armed, counting down or open, the runner asks for hands on every frame
through ``set_hands`` (``install`` points it at the perceiver's ``hands_on_demand``) and exposes
the same wish as ``want_hands`` (for ``RealtimeSession.want_hands``).

Offline (``interview-guard analyze FILE --challenge 12.5-20:hand_wave``): ``schedule()`` windows
in advance; the 2 s before each window serve as its baseline and hands are switched on 0.5 s
before that.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from interview_guard.challenges.hand_wave import HandWaveScorer
from interview_guard.challenges.head_turn import HeadTurnScorer
from interview_guard.challenges.protocol import HAND_WAVE, HEAD_TURN, TYPES, Prompt, PromptGenerator, Timing
from interview_guard.challenges.record import FrameRec, record
from interview_guard.challenges.result import VERSION, ChallengeResult
from interview_guard.challenges.state import ACTIVE, ChallengeState, Phase
from interview_guard.core.types import NS_PER_S, Evidence, Observation

SCORERS = {HAND_WAVE: HandWaveScorer, HEAD_TURN: HeadTurnScorer}
HANDS_LEAD_NS = NS_PER_S // 2
MAX_BASELINE_FRAMES = 240


@dataclass(frozen=True)
class RunnerStatus:
    """What the UI shows. ``seq`` increases with every new challenge."""

    seq: int = 0
    phase: Phase = Phase.IDLE
    kind: str | None = None
    instruction: str = ""
    summary: str = ""
    seconds_left: float = 0.0
    progress: float = 0.0
    t_ns: int | None = None
    result: ChallengeResult | None = None
    prompt: Prompt | None = None

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE


@dataclass
class _Scheduled:
    start_ns: int
    end_ns: int
    kind: str
    prompt: Prompt | None
    baseline_s: float


class ChallengeRunner:
    id = "challenge"
    version = VERSION
    modality = "video"
    needs = frozenset({"face", "hands"})
    kind = "risk"
    description = "Prompted hand-wave and head-turn challenges, scored when their window closes."

    def __init__(self, *, seed: int | None = None, mirrored: bool = False,
                 timing: dict[str, Timing] | None = None,
                 set_hands: Callable[[bool], None] | None = None) -> None:
        self.generator = PromptGenerator(seed, mirrored=mirrored, timing=timing)
        self.set_hands = set_hands
        self._lock = threading.Lock()
        self._pending: tuple[str, Prompt | None] | None = None
        self._cancel = False
        self._seq = 0
        self._status = RunnerStatus()
        self._scheduled: list[_Scheduled] = []
        self.results: list[ChallengeResult] = []
        self.keep_records = False          # tests/evaluation: keep the last window's records
        self.last_records: tuple[list[FrameRec], list[FrameRec]] | None = None
        self._clear()
        self._hands = False

    # -- UI side (any thread) ---------------------------------------------------------------
    def request(self, kind: str, prompt: Prompt | None = None) -> Prompt:
        """Ask for a challenge; returns its prompt at once (so the instruction can be shown). The
        countdown starts at the next observation. Raises RuntimeError while one is running."""
        if kind not in TYPES:
            raise ValueError(f"unknown challenge type {kind!r}")
        with self._lock:
            if self._status.active or self._pending is not None:
                raise RuntimeError("a challenge is already running")
            p = prompt if prompt is not None else self.generator.next(kind)
            self._pending = (kind, p)
            self._seq += 1
            self._status = RunnerStatus(seq=self._seq, phase=Phase.ARMED, kind=kind, instruction=p.instruction(),
                                        summary=p.short(), seconds_left=p.timing.countdown_s, prompt=p)
            return p

    def cancel(self) -> None:
        with self._lock:
            if self._pending is not None:
                self._pending = None
                self._status = RunnerStatus(seq=self._seq, phase=Phase.CANCELLED, kind=self._status.kind)
            elif self._status.active:
                self._cancel = True

    def snapshot(self) -> RunnerStatus:
        return self._status

    @property
    def want_hands(self) -> bool:
        return self._hands

    def schedule(self, start_s: float, end_s: float, kind: str, prompt: Prompt | None = None, *,
                 baseline_s: float = 2.0) -> None:
        """Offline: a window known in advance (seconds of stream time)."""
        if kind not in TYPES:
            raise ValueError(f"unknown challenge type {kind!r} (expected one of {', '.join(TYPES)})")
        if end_s <= start_s:
            raise ValueError("the challenge window must end after it starts")
        self._scheduled.append(_Scheduled(int(round(start_s * NS_PER_S)), int(round(end_s * NS_PER_S)), kind,
                                          prompt, baseline_s))
        self._scheduled.sort(key=lambda s: s.start_ns)

    # -- pipeline side (the analysis worker) ---------------------------------------------------
    def process(self, window) -> Evidence | None:
        obs = getattr(window, "observation", None)
        return self.observe(obs) if obs is not None else None

    def observe(self, obs: Observation) -> Evidence | None:
        t = obs.t_ns
        with self._lock:
            pending, self._pending = self._pending, None
            cancel, self._cancel = self._cancel, False
        if cancel and self._state is not None:
            self._state.cancel()
            self._publish(t)
            self._clear()
            self._set_hands(False)
            return None
        if pending is not None and self._state is None:
            kind, prompt = pending
            self._start(kind, prompt, ChallengeState(prompt.timing.countdown_s, prompt.timing.window_s))
            self._state.request()
        if self._state is None and self._scheduled:
            nxt = self._scheduled[0]
            t0 = nxt.start_ns - int(round(nxt.baseline_s * NS_PER_S))
            if t >= t0 - HANDS_LEAD_NS:
                self._set_hands(True)
            if t >= t0:
                self._scheduled.pop(0)
                self._start(nxt.kind, nxt.prompt, ChallengeState.scheduled(nxt.start_ns, nxt.end_ns,
                                                                            baseline_s=nxt.baseline_s))
        st = self._state
        if st is None:
            return None
        self._set_hands(True)
        transitions = st.update(t)
        if st.in_baseline(t):
            self._baseline.append(record(obs))
            if len(self._baseline) > MAX_BASELINE_FRAMES:
                del self._baseline[0]
        elif st.in_window(t):
            self._window.append(record(obs))
        ev = None
        if any(tr.phase is Phase.SCORING for tr in transitions) or st.phase is Phase.SCORING:
            ev = self._score()
        else:
            self._publish(t)
        return ev

    def finish(self, t_ns: int | None = None) -> Evidence | None:
        """End of stream: score an open window with what it has (marked cut short)."""
        ev = None
        st = self._state
        if st is not None and st.end_of_stream() and st.phase is Phase.SCORING:
            ev = self._score()
        self._scheduled.clear()
        self._set_hands(False)
        return ev

    def reset(self) -> None:
        with self._lock:
            self._pending = None
            self._cancel = False
            self._status = RunnerStatus(seq=self._seq)
        self._scheduled.clear()
        self.results.clear()
        self._clear()
        self._set_hands(False)

    # -- internals ------------------------------------------------------------------------------
    def _clear(self) -> None:
        self._state: ChallengeState | None = None
        self._kind: str | None = None
        self._prompt: Prompt | None = None
        self._baseline: list[FrameRec] = []
        self._window: list[FrameRec] = []

    def _start(self, kind: str, prompt: Prompt | None, state: ChallengeState) -> None:
        self._state, self._kind, self._prompt = state, kind, prompt
        self._baseline, self._window = [], []
        if prompt is None or self._status.phase is not Phase.ARMED:
            with self._lock:
                self._seq += 1
                instr = prompt.instruction() if prompt is not None else f"(recorded {kind.replace('_', ' ')})"
                self._status = RunnerStatus(seq=self._seq, phase=Phase.ARMED, kind=kind, instruction=instr,
                                            summary=prompt.short() if prompt is not None else "", prompt=prompt)

    def _score(self) -> Evidence:
        st = self._state
        assert st is not None and self._kind is not None
        scorer = SCORERS[self._kind]()
        t_start = st.window_start if st.window_start is not None else (st.t0 or 0)
        t_end = st.window_end if st.window_end is not None else (st.last_t or t_start)
        if st.cut_short and st.last_t is not None:
            t_end = max(t_start, min(t_end, st.last_t))
        res = scorer.score(self._baseline, self._window, prompt=self._prompt, t_start_ns=int(t_start),
                           t_end_ns=int(t_end), cut_short=st.cut_short)
        st.scored()
        self.results.append(res)
        if self.keep_records:
            self.last_records = (self._baseline, self._window)
        with self._lock:
            s = self._status
            self._status = RunnerStatus(seq=s.seq, phase=Phase.DONE, kind=self._kind, instruction=s.instruction,
                                        summary=s.summary, seconds_left=0.0, progress=1.0, t_ns=st.last_t,
                                        result=res, prompt=s.prompt)
        self._clear()
        if not self._scheduled:
            self._set_hands(False)
        return res.to_evidence()

    def _publish(self, t: int) -> None:
        st = self._state
        if st is None:
            return
        with self._lock:
            s = self._status
            self._status = RunnerStatus(seq=s.seq, phase=st.phase, kind=self._kind, instruction=s.instruction,
                                        summary=s.summary, seconds_left=st.seconds_left(t),
                                        progress=st.progress(t), t_ns=t, prompt=s.prompt)

    def _set_hands(self, on: bool) -> None:
        if on == self._hands:
            return
        self._hands = on
        if self.set_hands is not None:
            self.set_hands(on)


def install(analyzer, runner: ChallengeRunner):
    """Add ``runner`` to ``analyzer``'s video steps and let it switch hands on for every frame
    during a challenge. Returns the analyzer. An analyzer without detector lists (a stand-in
    used by embedding code) is returned unchanged: challenges then stay idle."""
    if not (isinstance(getattr(analyzer, "detectors", None), list)
            and isinstance(getattr(analyzer, "video_detectors", None), list)):
        return analyzer
    if runner not in analyzer.detectors:
        analyzer.detectors.append(runner)
    if runner not in analyzer.video_detectors:
        analyzer.video_detectors.append(runner)
    perceiver = getattr(analyzer, "perceiver", None)
    if perceiver is not None:
        runner.set_hands = lambda on: setattr(perceiver, "hands_on_demand", bool(on))
        perceiver.hands_on_demand = runner.want_hands
    return analyzer


def with_runner(factory: Callable[[], object], runner: ChallengeRunner) -> Callable[[], object]:
    """An analyzer factory that installs ``runner`` into what ``factory`` builds (on the worker thread)."""
    def build():
        return install(factory(), runner)

    return build

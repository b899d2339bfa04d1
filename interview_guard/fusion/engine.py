"""Fusion over time: calibrated evidence → 2-s windows → CUSUM → levels with hysteresis → Cues.

Pure Python, no Qt, no clock: time comes only from the evidence and from ``advance(t_ns)``.
Used the same way live (``RealtimeSession``) and offline (``run_lockstep``) through the
``Analyzer``, and by ``calibrate`` / the benchmarks to replay stored evidence.

Per 2-s hop h (detection-methods.md §9.2–9.3):

1. Each risk Evidence is calibrated (``Calibration.calibrate``; abstentions drop out) and
   counted **once**, in the hop where it ends. Overlap is removed per detector: an item
   contributes only the fraction of its span not already covered by that detector's earlier
   items (a 2-s window emitted every 1 s counts half), so nothing is counted twice.
2. ``E_h = Σ_d w_d · x_{d,h}``; ``w_d`` discounts correlated detectors (fitted from the
   class-conditional correlation on the corpus, else 1.0 alone in a modality / 0.5 shared).
   Challenge results (detector ids ``challenge_*``) enter with weight 1 and wider clipping.
   The 10-s context value shown in the UI is the sum of the last 5 hops, so accumulating
   per hop equals accumulating non-overlapping 10-s windows (no 5× over-counting).
3. CUSUM ``S = max(0, S + E_h − k)`` (k per hop; 0.5 nats per 10 s by default).
4. Levels (``LevelMachine``):
   * **amber** ("worth a check") when S ≥ h_amber, or a challenge failed;
   * **red** when S ≥ h_red and a challenge failed recently; or two challenge types failed;
     or, without challenges, S ≥ 2·h_red with positive evidence from ≥ 2 modalities;
   * **inconclusive** when no detector could judge for ``inconclusive_after_s`` (no face,
     small/turned face...), and at the start until the first usable evidence;
   * hysteresis: leave red only after S < h_red/2 for 60 s (to amber), leave amber after
     S < h_amber/2 for 30 s; minimum dwell 10 s before any de-escalation.
5. Every level change is a ``Cue`` with reasons, moments and a next step.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field, fields
from typing import Any, Iterable, Mapping

from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.fusion.calibration import Calibration, is_challenge
from interview_guard.fusion.cues import (CANT_SEE, GREEN_STEP, HEADLINES, LEVEL_RANK, QUALITY_STEPS, VERIFY_STEP, Cue,
                                         CueMoment, Level, detector_name, fmt_clock, next_step_for)


@dataclass(frozen=True)
class FusionConfig:
    hop_s: float = 2.0
    context_s: float = 10.0
    k: float = 0.1                      # CUSUM drift per hop
    h_amber: float = 3.0                # nats; fitted by `calibrate` for the false-amber target
    h_red: float = 9.0                  # with a failed challenge
    passive_red_factor: float = 2.0     # passive-only red: S ≥ factor·h_red and ≥ 2 modalities
    leave_amber_fraction: float = 0.5
    leave_amber_s: float = 30.0
    leave_red_fraction: float = 0.5
    leave_red_s: float = 60.0
    min_dwell_s: float = 10.0
    inconclusive_after_s: float = 20.0
    challenge_memory_s: float = 600.0
    single_window_amber_llr: float | None = None   # §9.3 "any single passive LLR ≥ 2": off (false alarms)
    prior_odds: float = 1.0 / 200.0
    grace_s: float = 0.5                # close a hop this long after its end (late audio evidence)
    max_reasons: int = 3
    max_moments: int = 5

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> "FusionConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (d or {}).items() if k in known})

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class RiskPoint:
    """One closed hop: for the timeline. ``contrib``: detector → weighted calibrated LLR."""

    t_ns: int
    E: float
    S: float
    level: Level
    usable: bool
    contrib: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"t_s": round(self.t_ns / NS_PER_S, 3), "E": round(self.E, 4), "S": round(self.S, 4),
                "level": self.level.value, "usable": self.usable,
                "contrib": {k: round(v, 4) for k, v in sorted(self.contrib.items())}}

    @classmethod
    def from_json(cls, d: dict) -> "RiskPoint":
        return cls(int(round(d["t_s"] * NS_PER_S)), float(d["E"]), float(d["S"]), Level(d["level"]),
                   bool(d["usable"]), dict(d.get("contrib", {})))


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """What a risk meter shows now. ``meter``: 0..1 (amber from 1/3, red from 2/3)."""

    t_ns: int
    level: Level
    score: float
    meter: float
    headline: str
    reasons: tuple[str, ...]
    next_step: str
    context_llr: float = 0.0
    since_ns: int = 0


class LevelMachine:
    """CUSUM + level state machine on per-hop inputs (shared by the engine and the simulators)."""

    def __init__(self, config: FusionConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.level = Level.INCONCLUSIVE
        self.S = 0.0
        self.since_ns: int | None = None
        self.below_since: int | None = None
        self.last_usable_ns: int | None = None
        self.t0_ns: int | None = None
        self.failed: collections.deque[tuple[int, str]] = collections.deque()
        self.run_modalities: set[str] = set()
        self.seen: set[Level] = set()

    def meter(self) -> float:
        c = self.config
        s = self.S
        if s <= c.h_amber:
            return s / c.h_amber / 3.0 if c.h_amber > 0 else 0.0
        if s <= c.h_red:
            return 1 / 3 + (s - c.h_amber) / max(1e-9, c.h_red - c.h_amber) / 3.0
        return min(1.0, 2 / 3 + (s - c.h_red) / max(1e-9, (c.passive_red_factor - 1) * c.h_red) / 3.0)

    def step(self, t_ns: int, E: float, *, usable: bool, pos_modalities: Iterable[str] = (),
             failed: Iterable[str] = (), single_max: float = -math.inf) -> tuple[Level, Level] | None:
        """Advance one hop ending at ``t_ns``. Returns (old, new) on a level change."""
        c = self.config
        failed = list(failed)
        if self.t0_ns is None:
            self.t0_ns = t_ns - int(c.hop_s * NS_PER_S)
        self.S = max(0.0, self.S + E - c.k)
        if self.S <= 0.0:
            self.run_modalities.clear()
        else:
            self.run_modalities.update(pos_modalities)
        for typ in failed:
            self.failed.append((t_ns, typ))
        mem = int(c.challenge_memory_s * NS_PER_S)
        while self.failed and self.failed[0][0] < t_ns - mem:
            self.failed.popleft()
        if usable:
            self.last_usable_ns = t_ns
        n_failed = len(self.failed)
        failed_types = {typ for _, typ in self.failed}
        red_ok = ((self.S >= c.h_red and n_failed >= 1) or len(failed_types) >= 2
                  or (self.S >= c.passive_red_factor * c.h_red and len(self.run_modalities) >= 2))
        amber_ok = (self.S >= c.h_amber or n_failed >= 1 or
                    (c.single_window_amber_llr is not None and single_max >= c.single_window_amber_llr))
        ref = self.last_usable_ns if self.last_usable_ns is not None else self.t0_ns
        cannot_judge = t_ns - ref >= int(c.inconclusive_after_s * NS_PER_S)
        dwell_ok = self.since_ns is None or t_ns - self.since_ns >= int(c.min_dwell_s * NS_PER_S)
        cur = self.level
        new = cur
        if cur is Level.RED:
            if self.S < c.leave_red_fraction * c.h_red:
                self.below_since = t_ns if self.below_since is None else self.below_since
                if t_ns - self.below_since >= int(c.leave_red_s * NS_PER_S) and dwell_ok:
                    new = Level.AMBER
            else:
                self.below_since = None
        elif red_ok:
            new = Level.RED
        elif cur is Level.AMBER:
            if self.S < c.leave_amber_fraction * c.h_amber and not amber_ok:
                self.below_since = t_ns if self.below_since is None else self.below_since
                if t_ns - self.below_since >= int(c.leave_amber_s * NS_PER_S) and dwell_ok:
                    new = Level.INCONCLUSIVE if cannot_judge else Level.GREEN
            else:
                self.below_since = None
        elif amber_ok:
            new = Level.AMBER
        elif cur is Level.GREEN:
            if cannot_judge and dwell_ok:
                new = Level.INCONCLUSIVE
        elif cur is Level.INCONCLUSIVE:
            initial = self.since_ns is None
            if usable and not cannot_judge and (initial or dwell_ok):
                new = Level.GREEN
        if new is cur:
            return None
        self.level = new
        self.since_ns = t_ns
        self.below_since = None
        self.seen.add(new)
        return cur, new

    @property
    def max_level(self) -> Level:
        if not self.seen:
            return Level.INCONCLUSIVE
        return max(self.seen, key=lambda lv: LEVEL_RANK[lv])


class FusionEngine:
    """Feed it Evidence (``add``) and stream time (``advance``); it returns Cues on level changes.

    ``detectors``: the session's detector objects (their ``version`` selects the calibration
    entry and their ``modality`` the group); or pass ``versions`` / ``modalities`` mappings.
    """

    def __init__(self, calibration: Calibration | None = None, config: FusionConfig | None = None, *,
                 detectors: Iterable[Any] = (), versions: Mapping[str, str] | None = None,
                 modalities: Mapping[str, str] | None = None) -> None:
        self.calibration = calibration if calibration is not None else Calibration.load()
        self.config = config or FusionConfig.from_mapping(self.calibration.fusion)
        self.versions: dict[str, str] = dict(versions or {})
        self.modalities: dict[str, str] = dict(modalities or {})
        declared_risk: list[str] = []
        for d in detectors:
            self.versions[d.id] = str(d.version)
            self.modalities[d.id] = d.modality
            if getattr(d, "kind", "risk") == "risk":
                declared_risk.append(d.id)
        self._declared = declared_risk
        self.reset()

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.machine = LevelMachine(self.config)
        self._pending: list[Evidence] = []
        self._hop_ns = int(self.config.hop_s * NS_PER_S)
        self._next_end: int | None = None
        self._covered: dict[str, int] = {}
        self._run_contrib: dict[str, float] = collections.defaultdict(float)
        self._run_moments: list[CueMoment] = []
        self._run_start: int | None = None
        self._recent_quality: collections.deque[Evidence] = collections.deque(maxlen=20)
        self._recent_challenges: list[Evidence] = []
        self._context: collections.deque[float] = collections.deque(
            maxlen=max(1, int(round(self.config.context_s / self.config.hop_s))))
        self.points: list[RiskPoint] = []
        self.cues: list[Cue] = []
        self.calibrated: list[tuple[Evidence, float, float]] = []   # (evidence, calibrated llr, weight·overlap)
        self.last_t_ns = 0
        self._snapshot = RiskSnapshot(0, Level.INCONCLUSIVE, 0.0, 0.0, "Not enough seen yet",
                                      ("The checks are waiting to see the candidate's face.",), "", 0.0, 0)

    @property
    def level(self) -> Level:
        return self.machine.level

    @property
    def score(self) -> float:
        return self.machine.S

    @property
    def max_level(self) -> Level:
        return self.machine.max_level

    def snapshot(self) -> RiskSnapshot:
        return self._snapshot

    # -- input --------------------------------------------------------------------------------
    def add(self, evidence: Iterable[Evidence]) -> None:
        for e in evidence:
            self._pending.append(e)

    def advance(self, t_ns: int) -> list[Cue]:
        """Close every hop that ended at least ``grace_s`` before ``t_ns``; returns new Cues."""
        self.last_t_ns = max(self.last_t_ns, t_ns)
        if self._next_end is None:
            first = min([t_ns] + [e.t_end_ns for e in self._pending])
            self._next_end = (first // self._hop_ns + 1) * self._hop_ns
        out: list[Cue] = []
        grace = int(self.config.grace_s * NS_PER_S)
        while self._next_end + grace <= t_ns:
            cue = self._close_hop(self._next_end)
            if cue is not None:
                out.append(cue)
            self._next_end += self._hop_ns
        return out

    def finish(self, t_ns: int | None = None) -> list[Cue]:
        """End of stream: close the hops up to ``t_ns`` (default: the latest time seen), including
        the last partial hop, so no evidence is left unread."""
        t = max(self.last_t_ns, t_ns or 0, max((e.t_end_ns for e in self._pending), default=0))
        self.last_t_ns = t
        if self._next_end is None:
            if not self._pending and t <= 0:
                return []
            first = min([t] + [e.t_end_ns for e in self._pending])
            self._next_end = (first // self._hop_ns + 1) * self._hop_ns
        out = []
        while self._pending or self._next_end - self._hop_ns < t:
            cue = self._close_hop(self._next_end)
            if cue is not None:
                out.append(cue)
            self._next_end += self._hop_ns
        return out

    def replay(self, evidence: Iterable[Evidence], end_ns: int | None = None) -> list[Cue]:
        """Offline helper: feed stored evidence in time order and finish. Returns all Cues."""
        items = sorted(evidence, key=lambda e: (e.t_end_ns, e.detector))
        out: list[Cue] = []
        for e in items:
            out += self.advance(e.t_end_ns)
            self.add([e])
        out += self.finish(end_ns)
        return out

    # -- one hop ------------------------------------------------------------------------------
    def _n_in_group(self, det: str) -> int:
        g = self.calibration.group(det, self.modalities.get(det, "video"))
        pool = self._declared or list(self._covered)
        return max(1, sum(1 for d in pool if not is_challenge(d)
                          and self.calibration.group(d, self.modalities.get(d, "video")) == g))

    def _close_hop(self, h_end: int) -> Cue | None:
        take = [e for e in self._pending if e.t_end_ns <= h_end]
        if take:
            self._pending = [e for e in self._pending if e.t_end_ns > h_end]
        take.sort(key=lambda e: (e.t_end_ns, e.detector))
        contrib: dict[str, float] = collections.defaultdict(float)
        usable = False
        failed: list[str] = []
        single_max = -math.inf
        cal = self.calibration
        for e in take:
            if e.kind == "quality":
                self._recent_quality.append(e)
                continue
            v = cal.calibrate(e, self.versions.get(e.detector))
            if v is None:
                continue
            usable = True
            if is_challenge(e.detector):
                res = str((e.details or {}).get("result", ""))
                if res == "failed":
                    failed.append(str((e.details or {}).get("type", e.detector)))
                self._recent_challenges.append(e)
                contrib[e.detector] += v
                self.calibrated.append((e, v, 1.0))
                if v > 0:
                    self._run_moments.append(CueMoment(e.detector, e.t_start_ns, e.t_end_ns, v, e.reason, e.code))
                continue
            cov = self._covered.get(e.detector, -(1 << 62))
            span = e.t_end_ns - e.t_start_ns
            if span <= 0:
                frac = 1.0 if e.t_end_ns > cov else 0.0
            else:
                frac = max(0.0, min(1.0, (e.t_end_ns - max(e.t_start_ns, cov)) / span))
            self._covered[e.detector] = max(cov, e.t_end_ns)
            w = cal.weight(e.detector, self.versions.get(e.detector), n_in_group=self._n_in_group(e.detector))
            x = frac * w * v
            single_max = max(single_max, v)
            contrib[e.detector] += x
            self.calibrated.append((e, v, frac * w))
            if x > 0:
                self._run_moments.append(CueMoment(e.detector, e.t_start_ns, e.t_end_ns, x, e.reason, e.code))
        E = float(sum(contrib.values()))
        groups = {cal.group(d, self.modalities.get(d, "video")) for d, x in contrib.items() if x > 0}
        if self.machine.S <= 0 and E - self.config.k > 0:
            self._run_start = h_end - self._hop_ns
        for d, x in contrib.items():
            if x > 0:
                self._run_contrib[d] += x
        old_level = self.machine.level
        change = self.machine.step(h_end, E, usable=usable, pos_modalities=groups, failed=failed,
                                   single_max=single_max)
        self._context.append(E)
        self.points.append(RiskPoint(h_end, E, self.machine.S, self.machine.level, usable,
                                     {d: x for d, x in contrib.items()}))
        cue = None
        if change is not None:
            cue = self._make_cue(h_end, old_level, change[1])
            self.cues.append(cue)
        if self.machine.S <= 0.0:
            self._run_contrib.clear()
            self._run_moments.clear()
            self._run_start = None
        elif len(self._run_moments) > 200:
            self._run_moments.sort(key=lambda m: -m.llr)
            del self._run_moments[50:]
        self._update_snapshot(h_end, cue)
        return cue

    # -- words --------------------------------------------------------------------------------
    def _make_cue(self, t_ns: int, old: Level, new: Level) -> Cue:
        c = self.config
        reasons: list[str] = []
        moments: tuple[CueMoment, ...] = ()
        next_step = GREEN_STEP
        top_det = None
        if new in (Level.AMBER, Level.RED):
            ranked = sorted(self._run_contrib.items(), key=lambda kv: -kv[1])
            fails = [e for e in self._recent_challenges
                     if str((e.details or {}).get("result")) == "failed"
                     and e.t_end_ns >= t_ns - int(c.challenge_memory_s * NS_PER_S)]
            for e in fails[-2:]:
                reasons.append(f"The {detector_name(e.detector)} did not pass: {e.reason}")
            for det, _ in ranked:
                if len(reasons) >= c.max_reasons:
                    break
                if is_challenge(det):
                    continue
                best = max((m for m in self._run_moments if m.detector == det), key=lambda m: m.llr, default=None)
                if best is not None and best.reason:
                    reasons.append(best.reason)
                    top_det = top_det or det
            if len(ranked) > 1 and len(reasons) < c.max_reasons + 1:
                since = self._run_start if self._run_start is not None else t_ns
                names = ", ".join(detector_name(d) for d, _ in ranked[:3])
                reasons.append(f"Signs from {len(ranked)} checks ({names}) have added up since {fmt_clock(since)}.")
            moments = tuple(sorted(self._run_moments, key=lambda m: -m.llr)[: c.max_moments])
            if new is Level.RED:
                next_step = VERIFY_STEP
            else:
                next_step = next_step_for(top_det)
            if not reasons:
                reasons.append("Several weak signs added up over the last minute.")
        elif new is Level.INCONCLUSIVE:
            horizon = t_ns - int((c.inconclusive_after_s + c.hop_s) * NS_PER_S)
            recent = [e for e in self._recent_quality if e.t_end_ns >= horizon]
            seen_codes = []
            for e in reversed(recent):
                if e.code not in seen_codes:
                    seen_codes.append(e.code)
                    reasons.append(e.reason)
                if len(reasons) >= c.max_reasons:
                    break
            if not reasons:
                reasons.append(CANT_SEE)
            next_step = QUALITY_STEPS.get(seen_codes[0], "Ask the candidate to face the camera in good light.") \
                if seen_codes else "Ask the candidate to face the camera in good light."
        else:  # green
            if old is Level.INCONCLUSIVE and not self.machine.seen - {Level.GREEN}:
                reasons.append("The checks can see the face and found nothing of concern so far.")
            elif old is Level.INCONCLUSIVE:
                reasons.append("The face can be checked again; nothing of concern since.")
            else:
                reasons.append(f"The earlier signs have faded: nothing new of concern for "
                               f"{c.leave_amber_s:.0f} s.")
        p = 1.0 / (1.0 + math.exp(-(math.log(c.prior_odds) + min(50.0, self.machine.S))))
        return Cue(level=new, previous=old, t_ns=t_ns, headline=HEADLINES[new], reasons=tuple(reasons),
                   next_step=next_step, moments=moments, score=self.machine.S, p_fake=p,
                   details={"context_llr": float(sum(self._context)), "top_detector": top_det or ""})

    def _update_snapshot(self, t_ns: int, cue: Cue | None) -> None:
        lv = self.machine.level
        prev = self._snapshot
        if cue is not None:
            reasons, step, headline = cue.reasons, cue.next_step, cue.headline
        else:
            reasons, step, headline = prev.reasons, prev.next_step, prev.headline
        if lv is Level.INCONCLUSIVE and self.machine.since_ns is None:
            headline = "Not enough seen yet"
        self._snapshot = RiskSnapshot(t_ns, lv, self.machine.S, self.machine.meter(), headline, tuple(reasons),
                                      step, float(sum(self._context)), self.machine.since_ns or 0)

    # -- summaries ----------------------------------------------------------------------------
    def summary(self) -> dict:
        counts = collections.Counter(c.level.value for c in self.cues if c.escalation)
        return {
            "max_level": self.max_level.value,
            "final_level": self.level.value,
            "final_score": round(self.machine.S, 4),
            "cue_count": len(self.cues),
            "escalations": dict(counts),
            "hops": len(self.points),
            "usable_fraction": round(sum(p.usable for p in self.points) / len(self.points), 4) if self.points else 0.0,
            "config": self.config.to_json(),
            "calibration": {
                "file": self.calibration.path,
                "fitted": self.calibration.meta.get("fitted_at", ""),
                "detectors": {d: self.calibration.status(d, self.versions.get(d))
                              for d in sorted(set(self.versions) | {e.detector for e, _, _ in self.calibrated})
                              if not d.startswith("face_quality")},
            },
        }

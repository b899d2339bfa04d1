"""Scoring challenges on a recording: ``interview-guard analyze FILE --challenge 12.5-20:hand_wave``.

A span ``START-END[:TYPE]`` (seconds of the recording; TYPE ``hand_wave`` (default) or
``head_turn``) is scored by the same runner and scorers as a live challenge. The prompt that was
read is not known offline, so compliance is judged on what was done (a hand crossing the face and
covering an eye or the mouth; a turn past 25° on some side), not on the randomised parameters.
The 2 s before START serve as the baseline (the live countdown); hands run on every frame from
0.5 s before that. Challenge scoring needs every frame of the span, so ``--sample-fps`` is set to 0.
"""

from __future__ import annotations

import re

from interview_guard.challenges.protocol import HAND_WAVE, TYPES
from interview_guard.challenges.result import ChallengeResult
from interview_guard.challenges.runner import ChallengeRunner, install
from interview_guard.core.errors import ConfigError
from interview_guard.core.types import NS_PER_S

_SPEC = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*-\s*(\d+(?:\.\d*)?)\s*(?::\s*([a-z_]+)\s*)?$")


def parse_spec(text: str) -> tuple[float, float, str]:
    m = _SPEC.match(text or "")
    if not m:
        raise ConfigError(f"--challenge {text!r}: expected START-END[:TYPE] in seconds, e.g. 12.5-20:hand_wave")
    a, b, kind = float(m.group(1)), float(m.group(2)), m.group(3) or HAND_WAVE
    if kind not in TYPES:
        raise ConfigError(f"--challenge {text!r}: unknown type {kind!r} (use {' or '.join(TYPES)})")
    if b <= a:
        raise ConfigError(f"--challenge {text!r}: the end must come after the start")
    if b - a < 1.0:
        raise ConfigError(f"--challenge {text!r}: the span is shorter than 1 s")
    return a, b, kind


def runner_for(specs: list[str]) -> ChallengeRunner:
    spans = sorted(parse_spec(s) for s in specs)
    for (a0, b0, _), (a1, _, _) in zip(spans[:-1], spans[1:]):
        if a1 < b0 + 2.0:
            raise ConfigError("--challenge spans must not overlap and need 2 s between them (the next one's baseline)")
    runner = ChallengeRunner()
    for a, b, kind in spans:
        runner.schedule(a, b, kind, None, baseline_s=min(2.0, a))
    return runner


def analyzer_factory(runner: ChallengeRunner, factory=None):
    """A factory building the full analyzer (or ``factory()``) with ``runner`` installed."""
    def build():
        if factory is None:
            from interview_guard.pipeline.analyzer import Analyzer

            return install(Analyzer(), runner)
        return install(factory(), runner)

    return build


def build_analyzer(specs: list[str], factory=None):
    """(analyzer with the runner installed, runner). ``factory`` builds the analyzer (default: the
    full one)."""
    runner = runner_for(specs)
    if factory is None:
        from interview_guard.pipeline.analyzer import Analyzer

        factory = Analyzer
    return install(factory(), runner), runner


def complete(runner: ChallengeRunner, evidence_path=None) -> list[ChallengeResult]:
    """After the recording ended: score a window the recording cut short, append its Evidence to
    ``evidence_path`` (evidence.jsonl), and return every challenge result."""
    ev = runner.finish()
    if ev is not None and evidence_path is not None:
        import json

        with open(evidence_path, "a") as f:
            f.write(json.dumps(ev.to_json(), sort_keys=True) + "\n")
    return list(runner.results)


def describe(res: ChallengeResult) -> str:
    a, b = res.t_start_ns / NS_PER_S, res.t_end_ns / NS_PER_S
    return (f"challenge {res.kind} {a:.1f}–{b:.1f} s: {res.result.upper()} (llr {res.llr:+.1f}) — {res.reason}")

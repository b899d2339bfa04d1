"""The outcome of one challenge and its Evidence form.

Evidence contract (shared with fusion and the recorder of flagged segments):

* detector id ``challenge_hand_wave`` / ``challenge_head_turn``; time span = the challenge window;
* ``details["result"]`` ∈ {"passed", "failed", "inconclusive"}, ``details["type"]`` = the challenge
  type, the prompt, and the measurements (numbers only);
* ``llr`` ≈ +3…+5 when failed, 0 when inconclusive, ≈ −1…−2 when passed;
* ``reason``: plain language an interviewer can read out or act on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from interview_guard.core.types import Evidence

PASSED, FAILED, INCONCLUSIVE = "passed", "failed", "inconclusive"
RESULTS = (PASSED, FAILED, INCONCLUSIVE)
DETECTOR_PREFIX = "challenge_"
VERSION = "1"


@dataclass(frozen=True)
class ChallengeResult:
    kind: str
    result: str
    llr: float
    quality: float
    reasons: tuple[str, ...]
    t_start_ns: int
    t_end_ns: int
    measurements: dict[str, Any] = field(default_factory=dict)
    prompt: dict[str, Any] | None = None

    @property
    def detector_id(self) -> str:
        return DETECTOR_PREFIX + self.kind

    @property
    def reason(self) -> str:
        """One or two sentences: the verdict's main reason first."""
        if not self.reasons:
            return self.result
        text = "; ".join(self.reasons)
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")

    def to_evidence(self) -> Evidence:
        details: dict[str, Any] = {"result": self.result, "type": self.kind}
        if self.prompt is not None:
            details["prompt"] = {k: v for k, v in self.prompt.items()}
        for k, v in self.measurements.items():
            details[k] = _clean(v)
        return Evidence(detector=self.detector_id, t_start_ns=int(self.t_start_ns),
                        t_end_ns=int(max(self.t_start_ns, self.t_end_ns)), llr=float(self.llr),
                        quality=float(min(1.0, max(0.0, self.quality))), reason=self.reason, kind="risk",
                        code=f"{self.detector_id}_{self.result}", details=details)


def _clean(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int):
        return int(v)
    if isinstance(v, float) or hasattr(v, "__float__") and not isinstance(v, (list, tuple, dict)):
        f = float(v)
        return round(f, 4) if math.isfinite(f) else None
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    return str(v)


def times_word(n: int) -> str:
    return {0: "not at all", 1: "once", 2: "twice"}.get(n, f"{n} times")

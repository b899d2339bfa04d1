"""Cues: what the interviewer sees when the risk level changes, in plain words.

A ``Cue`` is emitted on **every level change** (never more often): the new level, when, the
top reasons as sentences an interviewer can read, the evidence moments that caused it, and a
suggested next step. Wording rules: never "fake", "deepfake" or "fraud" about the person; amber
says "worth a check" and proposes a check; red asks to verify identity another way.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field
from typing import Any

from interview_guard.core.types import NS_PER_S


class Level(str, enum.Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    INCONCLUSIVE = "inconclusive"


#: ordering for "the worst level reached" (summary.json ``max_level``)
LEVEL_RANK = {Level.GREEN: 0, Level.INCONCLUSIVE: 1, Level.AMBER: 2, Level.RED: 3}

HEADLINES = {
    Level.GREEN: "No concerns right now",
    Level.AMBER: "Worth a check",
    Level.RED: "Strong signs the video or voice is being altered: verify identity another way",
    Level.INCONCLUSIVE: "Cannot judge right now",
}

#: short names for detectors (reports, timeline rows, reasons)
DETECTOR_NAMES = {
    "face_swap_cnn": "face texture model",
    "sharpness_mismatch": "face sharpness vs surroundings",
    "colour_mismatch": "face colour vs neck and ears",
    "seam_band": "blending seam around the face",
    "identity_flicker": "face identity flicker",
    "landmark_jitter": "face outline jitter",
    "face_quality": "face visibility",
    "voice_synthetic": "synthetic voice",
    "speaker_change": "speaker change",
    "lip_sync": "lip sync",
}

HAND_WAVE = "Ask the candidate to wave a hand slowly in front of their face, then turn their head to one side."
HEAD_TURN = "Ask the candidate to turn their head slowly to one side and back."
VOICE_STEP = ("Ask an unexpected follow-up question and listen for changes in the voice; you can also ask the "
              "candidate to read a short sentence you choose.")
LIPS_STEP = "Ask the candidate to read a short sentence you choose aloud while facing the camera."
VERIFY_STEP = ("Verify the candidate's identity another way, for example a call-back on a number you already "
               "have or an ID check by your HR team. Stay neutral: the signs can have innocent causes.")
GREEN_STEP = "No action needed."

NEXT_STEPS = {
    "face_swap_cnn": HAND_WAVE,
    "sharpness_mismatch": HAND_WAVE,
    "colour_mismatch": HAND_WAVE,
    "seam_band": HAND_WAVE,
    "identity_flicker": HAND_WAVE,
    "landmark_jitter": HEAD_TURN,
    "voice_synthetic": VOICE_STEP,
    "speaker_change": VOICE_STEP,
    "lip_sync": LIPS_STEP,
}

QUALITY_STEPS = {
    "no_face": "Ask the candidate to sit facing the camera.",
    "several_faces": "Ask whether someone else is in the room.",
    "face_small": "Ask the candidate to move closer to the camera, or switch to speaker view.",
    "face_blurred": "Ask the candidate to improve their lighting or refocus the camera.",
    "face_turned": "Ask the candidate to face the camera.",
    "frozen": "Ask the candidate to move or to re-enable their camera.",
}
CANT_SEE = ("The face checks could not measure the face for a while (too small, turned away, blurred or not "
            "visible), so the tool cannot judge right now.")


def detector_name(det_id: str) -> str:
    if det_id in DETECTOR_NAMES:
        return DETECTOR_NAMES[det_id]
    if det_id.startswith("challenge_"):
        return det_id[len("challenge_"):].replace("_", " ") + " check"
    return det_id.replace("_", " ")


def next_step_for(det_id: str | None) -> str:
    if det_id is None:
        return HAND_WAVE
    if det_id.startswith("challenge_"):
        return VERIFY_STEP
    return NEXT_STEPS.get(det_id, HAND_WAVE)


@dataclass(frozen=True, slots=True)
class CueMoment:
    """One piece of evidence behind a cue: which detector, when, how strongly (calibrated)."""

    detector: str
    t_start_ns: int
    t_end_ns: int
    llr: float            # calibrated and weighted, natural log
    reason: str
    code: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"detector": self.detector, "t_start_s": round(self.t_start_ns / NS_PER_S, 3),
                "t_end_s": round(self.t_end_ns / NS_PER_S, 3), "llr": round(float(self.llr), 4),
                "reason": self.reason, "code": self.code}


@dataclass(frozen=True, slots=True)
class Cue:
    """A level change. ``score``: the accumulated evidence S (nats) at that moment; ``p_fake``:
    σ(prior log-odds + S) for the log only (the UI shows levels and reasons, not a probability)."""

    level: Level
    previous: Level
    t_ns: int
    headline: str
    reasons: tuple[str, ...]
    next_step: str
    moments: tuple[CueMoment, ...] = ()
    score: float = 0.0
    p_fake: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def t_s(self) -> float:
        return self.t_ns / NS_PER_S

    @property
    def escalation(self) -> bool:
        return LEVEL_RANK[self.level] > LEVEL_RANK[self.previous]

    def to_json(self) -> dict[str, Any]:
        return {
            "level": self.level.value, "previous": self.previous.value, "t_s": round(self.t_ns / NS_PER_S, 3),
            "headline": self.headline, "reasons": list(self.reasons), "next_step": self.next_step,
            "moments": [m.to_json() for m in self.moments], "score": round(float(self.score), 4),
            "p_fake": round(float(self.p_fake), 6),
            "details": {k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
                        for k, v in self.details.items()},
        }

    @classmethod
    def from_json(cls, d: dict) -> "Cue":
        return cls(level=Level(d["level"]), previous=Level(d["previous"]), t_ns=int(round(d["t_s"] * NS_PER_S)),
                   headline=d.get("headline", ""), reasons=tuple(d.get("reasons", ())),
                   next_step=d.get("next_step", ""),
                   moments=tuple(CueMoment(m["detector"], int(round(m["t_start_s"] * NS_PER_S)),
                                           int(round(m["t_end_s"] * NS_PER_S)), float(m["llr"]), m.get("reason", ""),
                                           m.get("code", "")) for m in d.get("moments", ())),
                   score=float(d.get("score", 0.0)), p_fake=float(d.get("p_fake", 0.0)),
                   details=dict(d.get("details", {})))


def fmt_clock(t_ns: int) -> str:
    s = max(0, int(round(t_ns / NS_PER_S)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def odds_words(nats: float) -> str:
    """'about 12 to 1' for a log-likelihood ratio."""
    r = math.exp(min(30.0, max(0.0, nats)))
    if r < 10:
        return f"about {r:.1f} to 1"
    return f"about {r:,.0f} to 1"

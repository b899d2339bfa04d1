"""Randomised challenge prompts (the per-call nonce) and the sentence the interviewer reads aloud.

Each challenge draws its parameters from a per-session seed so a pre-recorded or scripted
response cannot comply by chance every time (detection-methods.md §2.2, "Nonce"):

* hand wave: which hand, the direction of the first pass (in the **candidate's** own left/right)
  and the number of passes (1–3);
* head turn: which side first (the candidate's left or right), then the other side.

Only the parameters are random; the routine itself is the same for every candidate and is
presented as standard practice. ``PromptGenerator(seed)`` is deterministic for a given seed;
without one it draws a fresh 64-bit seed from the OS.

Image conventions (an unmirrored received stream, as call apps send it): the candidate's left
is the image's right. A hand moving from the candidate's left to their right moves towards the
image's **left** (x decreasing); a head turned to the candidate's left shows ``yaw > 0``
(``HeadPose``: yaw > 0 when the face turns towards the image's right). ``mirrored=True`` flips
both (a self-view or a mirroring virtual camera).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field, replace

HAND_WAVE = "hand_wave"
HEAD_TURN = "head_turn"
TYPES = (HAND_WAVE, HEAD_TURN)

LEFT, RIGHT = "left", "right"
LTR, RTL = "left_to_right", "right_to_left"

_PASSES_WORDS = {1: "once", 2: "twice", 3: "three times"}


@dataclass(frozen=True)
class Timing:
    """Seconds of stream time: countdown (also the frontal baseline), then the challenge window."""

    countdown_s: float = 3.0
    window_s: float = 8.0


DEFAULT_TIMING = {HAND_WAVE: Timing(3.0, 8.0), HEAD_TURN: Timing(3.0, 10.0)}


@dataclass(frozen=True)
class HandWavePrompt:
    hand: str = RIGHT                 # the candidate's hand (not verifiable: handedness labels are unreliable)
    direction: str = LTR              # first pass, in the candidate's frame
    passes: int = 2
    mirrored: bool = False
    timing: Timing = field(default_factory=lambda: DEFAULT_TIMING[HAND_WAVE])
    kind: str = HAND_WAVE

    @property
    def image_dx_sign(self) -> int:
        """Expected sign of the hand's x velocity in the image on the first pass."""
        s = -1 if self.direction == LTR else 1
        return -s if self.mirrored else s

    def instruction(self) -> str:
        frm, to = ("left", "right") if self.direction == LTR else ("right", "left")
        return (f"Quick camera check we do with everyone: could you pass your {self.hand} hand slowly across "
                f"your face, from your {frm} to your {to}, {_PASSES_WORDS.get(self.passes, f'{self.passes} times')}? "
                f"Let it cover your eyes as it goes.")

    def short(self) -> str:
        frm, to = ("left", "right") if self.direction == LTR else ("right", "left")
        return f"{self.hand} hand, {frm}→{to}, {self.passes}×"

    def to_json(self) -> dict:
        return {"kind": self.kind, "hand": self.hand, "direction": self.direction, "passes": self.passes,
                "mirrored": self.mirrored, "countdown_s": self.timing.countdown_s, "window_s": self.timing.window_s}


@dataclass(frozen=True)
class HeadTurnPrompt:
    first: str = LEFT                 # the candidate's side to turn to first
    min_yaw_deg: float = 25.0         # compliance: reached on each requested side
    strong_yaw_deg: float = 45.0      # beyond this the swappers' weak range starts: a pass counts more
    mirrored: bool = False
    timing: Timing = field(default_factory=lambda: DEFAULT_TIMING[HEAD_TURN])
    kind: str = HEAD_TURN

    @property
    def second(self) -> str:
        return RIGHT if self.first == LEFT else LEFT

    def yaw_sign(self, side: str) -> int:
        """Sign of the image yaw when the candidate turns to ``side``."""
        s = 1 if side == LEFT else -1
        return -s if self.mirrored else s

    def instruction(self) -> str:
        return (f"Quick camera check we do with everyone: please turn your head slowly to your {self.first} as far "
                f"as is comfortable, hold it for a second, then to your {self.second}, then back to me.")

    def short(self) -> str:
        return f"{self.first} then {self.second}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "first": self.first, "min_yaw_deg": self.min_yaw_deg,
                "mirrored": self.mirrored, "countdown_s": self.timing.countdown_s, "window_s": self.timing.window_s}


Prompt = HandWavePrompt | HeadTurnPrompt


class PromptGenerator:
    """Per-session source of randomised prompts. Same seed → same sequence of prompts."""

    def __init__(self, seed: int | None = None, *, mirrored: bool = False,
                 timing: dict[str, Timing] | None = None) -> None:
        self.seed = int(seed) if seed is not None else secrets.randbits(64)
        self.mirrored = mirrored
        self.timing = dict(DEFAULT_TIMING)
        if timing:
            self.timing.update(timing)
        self._rng = random.Random(self.seed)
        self.count = 0

    def next(self, kind: str) -> Prompt:
        if kind not in TYPES:
            raise ValueError(f"unknown challenge type {kind!r} (expected one of {', '.join(TYPES)})")
        self.count += 1
        r = self._rng
        if kind == HAND_WAVE:
            return HandWavePrompt(hand=r.choice((LEFT, RIGHT)), direction=r.choice((LTR, RTL)),
                                  passes=r.choice((1, 2, 2, 3)), mirrored=self.mirrored,
                                  timing=self.timing[HAND_WAVE])
        return HeadTurnPrompt(first=r.choice((LEFT, RIGHT)), mirrored=self.mirrored, timing=self.timing[HEAD_TURN])


def with_timing(prompt: Prompt, timing: Timing) -> Prompt:
    return replace(prompt, timing=timing)

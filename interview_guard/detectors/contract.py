"""The detector contract.

A detector is a small object with

* ``id`` (stable, snake_case), ``version`` (bump when its output changes),
* ``modality`` ("video", "audio" or "av") and ``needs`` (subset of {"face", "hands", "audio",
  "speech"}), ``kind`` ("risk": about authenticity; "quality": about whether we can judge),
* ``process(window) -> Evidence | None`` and ``reset()``.

Rules (checked by ``tests/contract``): no threads, no Qt, no wall clock, no global state;
time comes only from ``window.t_ns``; same inputs after ``reset()`` give the same outputs;
every Evidence has a finite ``llr``, ``0 <= quality <= 1``, ``t_start_ns <= t_end_ns <=
window.t_ns`` and a plain-language ``reason`` an interviewer can read.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from interview_guard.core.types import AudioChunk, Evidence, Observation

MODALITIES = frozenset({"video", "audio", "av"})
NEEDS = frozenset({"face", "hands", "audio", "speech"})
KINDS = frozenset({"risk", "quality"})


@dataclass(frozen=True, slots=True)
class Window:
    """What a detector sees at one step.

    ``t_ns``: time of the newest item. ``observation``: the frame's perception output (video
    steps) or None. ``audio``: the newest audio chunk (audio steps) or None.
    """

    t_ns: int
    observation: Observation | None = None
    audio: AudioChunk | None = None


class Detector(abc.ABC):
    id: str = ""
    version: str = "0"
    modality: str = "video"
    needs: frozenset[str] = frozenset()
    kind: str = "risk"
    description: str = ""
    # True when the detector's model was trained on the development corpus that
    # ``interview-guard calibrate`` fits on: its scores there are in-sample (too confident), so the
    # fusion calibration may shrink its own (held-out) LLR but never amplify it (slope <= 1)
    corpus_trained: bool = False

    @abc.abstractmethod
    def process(self, window: Window) -> Evidence | None:
        """Consume one step; return Evidence when there is something to say."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget all state (a new session or recording starts)."""

    def prepare(self) -> None:
        """Load models now (an Analyzer calls this once when it is built, before the first frame),
        so the first step of a live call does not stall on a lazy load. Default: nothing."""

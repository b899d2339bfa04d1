"""One analysis step, shared by both schedules: frame → Observation → Evidence.

The Analyzer owns the perceiver and one instance of every detector; it is used by exactly
one thread. It does not read clocks for results (only ``perf_counter`` for cost figures).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from interview_guard.core.types import AudioChunk, Evidence, Observation, VideoFrame
from interview_guard.detectors import registry
from interview_guard.detectors.contract import Detector, Window
from interview_guard.fusion.cues import Cue
from interview_guard.fusion.engine import FusionEngine
from interview_guard.perception.landmarks import PerceptionConfig, Perceiver
from interview_guard.perception.model_store import ModelStore


@dataclass(frozen=True, slots=True)
class StepResult:
    observation: Observation
    evidence: tuple[Evidence, ...]
    perception_ms: float
    detectors_ms: float
    cues: tuple[Cue, ...] = ()          # level changes the fusion stage produced at this step


@dataclass
class RunStats:
    """Running totals over a session (for summary.json and the UI counters)."""

    frames_analysed: int = 0
    frames_with_face: int = 0
    first_t_ns: int | None = None
    last_t_ns: int = 0
    yaw: list[float] = field(default_factory=list)
    pitch: list[float] = field(default_factory=list)
    face_px: list[float] = field(default_factory=list)
    sharpness: list[float] = field(default_factory=list)
    perception_ms: list[float] = field(default_factory=list)
    detectors_ms: list[float] = field(default_factory=list)
    evidence: int = 0

    def add(self, r: StepResult) -> None:
        o = r.observation
        self.frames_analysed += 1
        if self.first_t_ns is None:
            self.first_t_ns = o.t_ns
        self.last_t_ns = o.t_ns
        if o.face is not None:
            self.frames_with_face += 1
            self.yaw.append(o.face.pose.yaw)
            self.pitch.append(o.face.pose.pitch)
            self.face_px.append(o.face.size_px)
            self.sharpness.append(o.face.sharpness)
        self.perception_ms.append(r.perception_ms)
        self.detectors_ms.append(r.detectors_ms)
        self.evidence += len(r.evidence)

    def summary(self) -> dict:
        def med(xs: list[float]) -> float | None:
            return round(float(np.median(xs)), 2) if xs else None

        def pct(xs: list[float], q: float) -> float | None:
            return round(float(np.percentile(xs, q)), 2) if xs else None

        return {
            "frames_analysed": self.frames_analysed,
            "frames_with_face": self.frames_with_face,
            "face_fraction": round(self.frames_with_face / self.frames_analysed, 4) if self.frames_analysed else 0.0,
            "face": {
                "yaw_deg_median": med(self.yaw), "yaw_deg_p5": pct(self.yaw, 5), "yaw_deg_p95": pct(self.yaw, 95),
                "pitch_deg_median": med(self.pitch),
                "size_px_median": med(self.face_px), "size_px_p5": pct(self.face_px, 5),
                "sharpness_median": med(self.sharpness),
            },
            "cost_ms": {
                "perception_median": med(self.perception_ms), "perception_p95": pct(self.perception_ms, 95),
                "detectors_median": med(self.detectors_ms), "detectors_p95": pct(self.detectors_ms, 95),
            },
            "evidence_count": self.evidence,
        }


class Analyzer:
    def __init__(self, *, store: ModelStore | None = None, perception: PerceptionConfig | None = None,
                 detectors: list[Detector] | None = None, fusion: FusionEngine | bool = True) -> None:
        """``fusion``: True = a ``FusionEngine`` with ``models/calibration.json``; an engine to use
        that one; False = evidence only (no cues)."""
        self.perceiver = Perceiver(store, perception)
        self.detectors = detectors if detectors is not None else registry.create_all()
        self.video_detectors = [d for d in self.detectors if d.modality in ("video", "av")]
        self.audio_detectors = [d for d in self.detectors if d.modality in ("audio", "av")]
        for d in self.detectors:            # models load now, not on the first frame of the call
            prep = getattr(d, "prepare", None)
            if callable(prep):
                prep()
        if fusion is True:
            fusion = FusionEngine(detectors=self.detectors)
        self.fusion: FusionEngine | None = fusion or None

    def on_frame(self, frame: VideoFrame, *, want_hands: bool | None = None) -> StepResult:
        obs = self.perceiver.observe(frame, want_hands=want_hands)
        t0 = time.perf_counter()
        win = Window(t_ns=frame.t_ns, observation=obs)
        out = []
        for d in self.video_detectors:
            ev = d.process(win)
            if ev is not None:
                out.append(ev)
        cues: tuple[Cue, ...] = ()
        if self.fusion is not None:
            self.fusion.add(out)
            cues = tuple(self.fusion.advance(frame.t_ns))
        return StepResult(obs, tuple(out), obs.perception_ms, (time.perf_counter() - t0) * 1e3, cues)

    @property
    def audio_only_detectors(self) -> list[Detector]:
        """Audio detectors that never see frames (they may run on another thread than the video)."""
        return [d for d in self.audio_detectors if d.modality == "audio"]

    def on_audio(self, chunk: AudioChunk, *, precomputed: dict[str, Evidence | None] | None = None
                 ) -> tuple[Evidence, ...]:
        """Every audio detector on ``chunk``, in registry order. ``precomputed``: detector id →
        its result on this chunk, already computed elsewhere (the offline audio thread)."""
        win = Window(t_ns=chunk.t_ns + chunk.duration_ns, audio=chunk)
        out = []
        for d in self.audio_detectors:
            ev = precomputed[d.id] if precomputed is not None and d.id in precomputed else d.process(win)
            if ev is not None:
                out.append(ev)
        out = tuple(out)
        if self.fusion is not None:
            self.fusion.add(out)          # its cues come out at the next video step (or finish_fusion)
        return out

    def add_evidence(self, evidence) -> None:
        """Evidence from outside the detectors (e.g. a challenge result) joins the fusion."""
        if self.fusion is not None:
            self.fusion.add(evidence)

    def finish_fusion(self, t_ns: int | None = None) -> tuple[Cue, ...]:
        """End of stream: the fusion reads the evidence still pending; returns the last cues."""
        return tuple(self.fusion.finish(t_ns)) if self.fusion is not None else ()

    def reset(self) -> None:
        for d in self.detectors:
            d.reset()
        if self.fusion is not None:
            self.fusion.reset()

    def close(self) -> None:
        self.perceiver.close()

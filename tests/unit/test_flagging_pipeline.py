"""The live pipeline without Qt: cues and risk snapshots leave the RealtimeSession, challenge
results injected with ``session.add_evidence`` reach the fusion, and the segment recorder is
triggered by a challenge, by an amber/red level and by Flag."""

from __future__ import annotations

import time

import numpy as np

from interview_guard.capture.base import VideoSource
from interview_guard.core.types import Evidence, Observation, SourceEvent, SourceEventKind, VideoFrame
from interview_guard.fusion import Calibration, FusionConfig, FusionEngine, Level
from interview_guard.pipeline.analyzer import StepResult
from interview_guard.pipeline.flagging import FlagRecording
from interview_guard.pipeline.realtime import RealtimeSession
from interview_guard.recording.recorder import RecorderConfig
from interview_guard.recording.store import SegmentStore

NS = 1_000_000_000


class _Analyzer:
    """Quiet stand-in (looks genuine) that fuses what it is given."""

    def __init__(self) -> None:
        self.fusion = FusionEngine(Calibration(), FusionConfig(k=0.1, h_amber=3.0, h_red=9.0))
        self.detectors = []

    def on_frame(self, frame, *, want_hands=None):
        obs = Observation(frame=frame, faces=(), hands=(), hands_ran=False, frame_diff=1.0)
        ev = (Evidence("seam_band", max(0, frame.t_ns - NS // 10), frame.t_ns, -0.2, 0.9, "Consistent."),)
        self.fusion.add(ev)
        return StepResult(obs, ev, 1.0, 0.1, tuple(self.fusion.advance(frame.t_ns)))

    def add_evidence(self, evs):
        self.fusion.add(evs)

    def finish_fusion(self, t_ns=None):
        return tuple(self.fusion.finish(t_ns))

    def close(self):
        pass


class _Live(VideoSource):
    name = "window:Test"
    live = True

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds

    def __iter__(self):
        t0 = time.monotonic()
        i = 0
        while i < self.seconds * 20:
            if self.stopping:
                break
            while time.monotonic() < t0 + i / 20:
                time.sleep(0.002)
            img = np.full((120, 160, 3), 50, np.uint8)
            img[:, (i * 3) % 140:(i * 3) % 140 + 20] = 200
            yield VideoFrame(int(i * NS / 20), i, img, self.name)
            i += 1
        yield SourceEvent(int(i * NS / 20), SourceEventKind.ENDED, "end", self.name)


def _challenge(t_s: float, typ: str, result: str) -> Evidence:
    return Evidence(f"challenge_{typ}", int((t_s - 3) * NS), int(t_s * NS), 4.6 if result == "failed" else -1.5, 1.0,
                    f"The {typ.replace('_', ' ')} check {result}.", code=result,
                    details={"result": result, "type": typ})


def test_challenges_reach_fusion_and_trigger_recording(tmp_path):
    session = RealtimeSession(_Live(14.0), _Analyzer)
    fr = FlagRecording.open(session, store=SegmentStore(tmp_path),
                            config=RecorderConfig(preroll_s=2.0, postroll_s=1.0, max_fps=10))
    session.start()
    session.wait_started()
    time.sleep(4.0)
    session.add_evidence([_challenge(3.5, "hand_wave", "failed")])
    time.sleep(3.0)
    session.add_evidence([_challenge(6.5, "head_turn", "failed")])
    time.sleep(2.0)
    fr.flag()
    deadline = time.time() + 30
    while session.running and time.time() < deadline:
        time.sleep(0.1)
    session.stop()
    session.join()
    fr.close()
    levels = [c.level for c in session.all_cues]
    assert Level.AMBER in levels and Level.RED in levels, levels
    assert session.max_level == "red"
    red = [c for c in session.all_cues if c.level is Level.RED][0]
    assert any("did not pass" in r for r in red.reasons)
    snap = session.risk.get(timeout=0)
    assert snap is not None and snap.level is Level.RED
    assert any(e.detector == "challenge_hand_wave" for e in session.all_evidence)
    rows = fr.store.list()
    kinds = ",".join(r.trigger for r in rows)
    assert "challenge" in kinds and "red" in kinds and "flag" in kinds, kinds
    side = fr.store.sidecar(rows[0])
    assert any(e["detector"].startswith("challenge_") for r in rows for e in fr.store.sidecar(r)["evidence"])
    assert side["app_version"] and "models" in side
    assert fr.recorder.errors == []

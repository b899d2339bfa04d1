"""Helpers for the recording tests: synthetic frames/audio and a ready SegmentJob."""

from __future__ import annotations

import numpy as np

from interview_guard.core.types import NS_PER_S, AudioChunk, VideoFrame
from interview_guard.recording.store import SegmentJob
from interview_guard.recording.writer import H264Encoder


def frame(i: int, fps: float = 15.0, w: int = 320, h: int = 180, noise: bool = False) -> VideoFrame:
    img = np.full((h, w, 3), 40, np.uint8)
    x = (i * 7) % max(1, w - 30)
    img[:, x:x + 30] = (200, 120, 60)
    if noise:
        img = np.random.default_rng(i).integers(0, 255, (h, w, 3), dtype=np.uint8)
    return VideoFrame(t_ns=int(i * NS_PER_S / fps), index=i, image=img)


def audio(t_s: float, dur_s: float = 0.1, rate: int = 16000) -> AudioChunk:
    n = int(dur_s * rate)
    t = (np.arange(n) + int(t_s * rate)) / rate
    return AudioChunk(int(t_s * NS_PER_S), (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


def make_job(seconds: float = 3.0, fps: float = 15.0, *, w: int = 320, h: int = 180, noise: bool = False,
             start_s: float = 0.0, session: str = "testsession", with_audio: bool = True) -> SegmentJob:
    enc = H264Encoder(w, h, fps_hint=fps, crf=30 if not noise else 18)
    packets = []
    n0 = int(start_s * fps)
    for i in range(n0, n0 + int(seconds * fps)):
        f = frame(i, fps, w, h, noise)
        packets += enc.encode(f.image, f.t_ns // 1_000_000)
    enc.close()
    pcm = None
    if with_audio:
        pcm = np.concatenate([audio(start_s + k * 0.1).samples for k in range(int(seconds * 10) + 2)])
    return SegmentJob(session=session, packets=packets, width=enc.width, height=enc.height, fps_hint=fps,
                      audio=pcm, audio_rate=16000, audio_start_ms=int(start_s * 1000),
                      triggers=[{"kind": "flag", "t_s": start_s + 1.0, "reason": "The interviewer pressed Flag."}],
                      cues=[{"level": "amber", "t_s": start_s + 1.0, "reasons": ["A seam was seen."]}],
                      evidence=[{"detector": "seam_band", "t_start_s": start_s, "t_end_s": start_s + 1.5, "llr": 1.2,
                                 "quality": 0.9, "kind": "risk", "code": "x", "reason": "A seam was seen.",
                                 "details": {}}],
                      meta={"models": {"face_landmarker": {"sha256": "64184e22"}}, "detectors": {"seam_band": "1"}})


def decode_all(path) -> tuple[int, list[str]]:
    """(video frames decoded, stream codec names); raises on a corrupt file."""
    import av

    with av.open(str(path)) as c:
        codecs = [s.codec_context.name for s in c.streams]
        n = sum(1 for _ in c.decode(video=0))
        if c.streams.audio:
            c.seek(0)
    with av.open(str(path)) as c:
        if c.streams.audio:
            sum(1 for _ in c.decode(audio=0))
    return n, codecs

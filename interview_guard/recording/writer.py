"""Encoding and muxing: the continuous H.264 encoder of the pre-roll ring, and the writer that
turns a range of encoded packets + PCM audio into one mp4 (H.264 + AAC) with PyAV.

The ring holds *encoded* packets (libx264, zero-latency, no B-frames, a keyframe every second)
instead of raw frames: 15 s of 960-px video is ~2–4 MB instead of ~350 MB raw. A segment is a
remux of whole GOPs (no re-encoding of video); audio is kept as 16-kHz PCM (1 MB per 30 s) and
encoded to AAC when the segment is written. The mp4 muxer builds the ``avcC`` from the in-band
SPS/PPS of the first keyframe (so the encoder runs without a global header).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

TIME_BASE = Fraction(1, 1000)       # packet timestamps in ms of session time


@dataclass(frozen=True, slots=True)
class EncodedPacket:
    pts_ms: int
    key: bool
    data: bytes


class H264Encoder:
    """Frames (RGB uint8) → ``EncodedPacket`` (one per frame: zerolatency has no delay)."""

    def __init__(self, width: int, height: int, *, fps_hint: float = 15.0, crf: int = 26,
                 preset: str = "ultrafast", gop_s: float = 1.0) -> None:
        import av

        self.width = int(width) - int(width) % 2
        self.height = int(height) - int(height) % 2
        ctx = av.CodecContext.create("libx264", "w")
        ctx.width = self.width
        ctx.height = self.height
        ctx.pix_fmt = "yuv420p"
        ctx.time_base = TIME_BASE
        ctx.framerate = Fraction(int(round(fps_hint)) or 15, 1)
        ctx.gop_size = max(1, int(round(fps_hint * gop_s)))
        ctx.thread_count = 1
        ctx.options = {"preset": preset, "tune": "zerolatency", "crf": str(crf), "bf": "0",
                       "keyint_min": "1", "sc_threshold": "0"}
        ctx.open()
        self.ctx = ctx
        self.last_pts = -1

    def encode(self, image: np.ndarray, pts_ms: int) -> list[EncodedPacket]:
        import av

        if pts_ms <= self.last_pts:
            return []
        h, w = image.shape[:2]
        fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        fr = fr.reformat(width=self.width, height=self.height, format="yuv420p")
        fr.pts = int(pts_ms)
        fr.time_base = TIME_BASE
        self.last_pts = pts_ms
        return [EncodedPacket(int(p.pts), bool(p.is_keyframe), bytes(p)) for p in self.ctx.encode(fr)]

    def close(self) -> None:
        try:
            list(self.ctx.encode(None))
        except Exception:  # noqa: BLE001 - flushing a never-used encoder
            pass


def write_mp4(path: Path, packets: list[EncodedPacket], *, width: int, height: int, fps_hint: float,
              audio: np.ndarray | None, audio_rate: int, audio_start_ms: int) -> dict:
    """Mux ``packets`` (starting with a keyframe) and mono float32 ``audio`` (sample 0 at
    ``audio_start_ms`` of session time; None = a silent track) into ``path``. Timestamps are
    re-based to the first packet. Raises whatever PyAV raises (the caller cleans up)."""
    import av

    if not packets or not packets[0].key:
        raise ValueError("a segment must start with a keyframe")
    base = packets[0].pts_ms
    end_ms = packets[-1].pts_ms
    frame_ms = int(round(1000.0 / max(1.0, fps_hint)))
    dur_ms = end_ms - base + frame_ms
    container = av.open(str(path), "w", format="mp4")
    try:
        vs = container.add_stream("h264", rate=int(round(fps_hint)) or 15)
        vs.width = width
        vs.height = height
        vs.pix_fmt = "yuv420p"
        vs.time_base = TIME_BASE
        ast = container.add_stream("aac", rate=audio_rate)
        ast.layout = "mono"
        n_audio = int(round(dur_ms / 1000.0 * audio_rate))
        if audio is None or len(audio) == 0:
            pcm = np.zeros(n_audio, np.float32)
        else:
            off = int(round((base - audio_start_ms) / 1000.0 * audio_rate))
            pcm = np.zeros(n_audio, np.float32)
            src0 = max(0, off)
            dst0 = max(0, -off)
            n = max(0, min(len(audio) - src0, n_audio - dst0))
            if n > 0:
                pcm[dst0:dst0 + n] = audio[src0:src0 + n]
        for p in packets:
            pk = av.Packet(p.data)
            pk.pts = pk.dts = p.pts_ms - base
            pk.time_base = TIME_BASE
            pk.stream = vs
            pk.is_keyframe = p.key
            container.mux(pk)
        block = 1024
        for i in range(0, len(pcm), block):
            blk = np.ascontiguousarray(pcm[i:i + block].reshape(1, -1))
            af = av.AudioFrame.from_ndarray(blk, format="flt", layout="mono")
            af.sample_rate = audio_rate
            af.pts = i
            af.time_base = Fraction(1, audio_rate)
            for pk in ast.encode(af):
                container.mux(pk)
        for pk in ast.encode(None):
            container.mux(pk)
    finally:
        container.close()
    return {"video": {"codec": "h264", "width": width, "height": height, "frames": len(packets),
                      "fps_hint": round(fps_hint, 3)},
            "audio": {"codec": "aac", "sample_rate": audio_rate, "channels": 1,
                      "source": "captured" if audio is not None and len(audio) else "none captured (silent track)"},
            "duration_s": round(dur_ms / 1000.0, 3)}

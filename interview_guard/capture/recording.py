"""Recordings read with PyAV: the video track (timestamps from PTS) and the audio track.

Errors a user can cause (missing file, not a media file, truncated, no video or no audio
track) raise ``InputError`` with one clear sentence. A file that breaks *during* decoding
ends the iteration with an ERROR ``SourceEvent`` after every good frame was delivered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from interview_guard.capture.base import AudioSource, VideoSource
from interview_guard.core.errors import InputError
from interview_guard.core.types import NS_PER_S, AudioChunk, SourceEvent, SourceEventKind, VideoFrame


def _open_container(path: Path):
    import av

    if not path.exists():
        raise InputError(f"recording {path} does not exist", hint="check the path")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a recording")
    if path.stat().st_size == 0:
        raise InputError(f"recording {path} is empty (0 bytes)")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise InputError(
            f"cannot read {path}: it is not a playable recording or it is truncated/corrupt ({_short(e)})",
            hint="re-export or re-download the file") from None


def _short(e: Exception) -> str:
    s = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return s[:160]


class RecordingVideoSource(VideoSource):
    """Frames of a recording's first video stream.

    ``image`` is RGB (H, W, 3) uint8; ``t_ns`` = PTS relative to the stream's first frame.
    ``sample_fps``: if > 0, keep only frames at least 1/sample_fps apart (offline sampling).
    ``max_width``: if > 0, frames wider than this are downscaled (keeps aspect).
    """

    live = False

    def __init__(self, path: str | Path, *, sample_fps: float = 0.0, max_width: int = 0) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = f"file:{self.path.name}"
        self.sample_fps = sample_fps
        self.max_width = max_width
        self._container = _open_container(self.path)
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams}) or ["nothing"]
            self._container.close()
            raise InputError(f"recording {self.path} has no video track (it contains: {', '.join(kinds)})",
                             hint="pick a file with video, or analyse its audio only")
        vs = self._container.streams.video[0]
        vs.thread_type = "AUTO"
        self._stream = vs
        rate = vs.average_rate or vs.guessed_rate
        self.fps_hint = float(rate) if rate else 30.0
        self.width = int(vs.codec_context.width or 0)
        self.height = int(vs.codec_context.height or 0)
        dur = None
        if vs.duration is not None and vs.time_base is not None:
            dur = float(vs.duration * vs.time_base)
        elif self._container.duration:
            dur = self._container.duration / 1e6
        self.duration_s = dur
        self.frames_hint = int(vs.frames or (dur * self.fps_hint if dur else 0))
        self.decoded = 0

    def __iter__(self) -> Iterator[VideoFrame | SourceEvent]:
        import av

        t_first: float | None = None
        next_keep = 0.0
        last_t_ns = -1
        index = 0
        try:
            for frame in self._container.decode(self._stream):
                if self.stopping:
                    yield SourceEvent(max(last_t_ns, 0), SourceEventKind.ENDED, "stopped", self.name)
                    return
                t = frame.time if frame.time is not None else index / self.fps_hint
                if t_first is None:
                    t_first = t
                t_rel = t - t_first
                t_ns = int(round(t_rel * NS_PER_S))
                if t_ns <= last_t_ns:
                    t_ns = last_t_ns + 1
                self.decoded += 1
                if self.sample_fps > 0 and t_rel + 1e-6 < next_keep:
                    continue
                if self.sample_fps > 0:
                    next_keep = max(next_keep + 1.0 / self.sample_fps, t_rel)
                if self.max_width and frame.width > self.max_width:
                    nh = int(round(frame.height * self.max_width / frame.width / 2) * 2)
                    img = frame.to_ndarray(format="rgb24", width=self.max_width, height=nh)
                else:
                    img = frame.to_ndarray(format="rgb24")
                last_t_ns = t_ns
                yield VideoFrame(t_ns=t_ns, index=index, image=np.ascontiguousarray(img), source=self.name)
                index += 1
        except (av.error.FFmpegError, OSError) as e:
            yield SourceEvent(max(last_t_ns, 0), SourceEventKind.ERROR,
                              f"{self.path.name} is damaged after {index} frames ({_short(e)}); "
                              "the frames before were analysed", self.name)
            return
        finally:
            self.close()
        if index == 0:
            yield SourceEvent(0, SourceEventKind.ERROR,
                              f"{self.path.name}: no frame could be decoded (truncated or corrupt file)", self.name)
            return
        yield SourceEvent(last_t_ns, SourceEventKind.ENDED, "end of recording", self.name)

    def close(self) -> None:
        super().close()
        try:
            self._container.close()
        except Exception:  # noqa: BLE001 - closing twice or after an error is harmless
            pass


class RecordingAudioSource(AudioSource):
    """A recording's first audio track as mono float32 at ``sample_rate`` Hz in ``chunk_s`` blocks."""

    live = False

    def __init__(self, path: str | Path, *, sample_rate: int = 16000, chunk_s: float = 0.5) -> None:
        super().__init__()
        self.path = Path(path)
        self.name = f"file-audio:{self.path.name}"
        self.sample_rate = sample_rate
        self.chunk = max(1, int(round(chunk_s * sample_rate)))
        self._container = _open_container(self.path)
        if not self._container.streams.audio:
            kinds = sorted({s.type for s in self._container.streams}) or ["nothing"]
            self._container.close()
            raise InputError(f"recording {self.path} has no audio track (it contains: {', '.join(kinds)})")
        self._stream = self._container.streams.audio[0]

    def __iter__(self) -> Iterator[AudioChunk | SourceEvent]:
        import av

        resampler = av.AudioResampler(format="flt", layout="mono", rate=self.sample_rate)
        pending = np.zeros(0, dtype=np.float32)
        n_out = 0

        def emit(block: np.ndarray) -> AudioChunk:
            nonlocal n_out
            c = AudioChunk(t_ns=n_out * NS_PER_S // self.sample_rate, samples=block, sample_rate=self.sample_rate,
                           source=self.name)
            n_out += len(block)
            return c

        try:
            for frame in self._container.decode(self._stream):
                if self.stopping:
                    break
                for rf in resampler.resample(frame):
                    pending = np.concatenate([pending, rf.to_ndarray().reshape(-1).astype(np.float32)])
                while len(pending) >= self.chunk:
                    yield emit(pending[: self.chunk].copy())
                    pending = pending[self.chunk:]
            for rf in resampler.resample(None):
                pending = np.concatenate([pending, rf.to_ndarray().reshape(-1).astype(np.float32)])
        except (av.error.FFmpegError, OSError) as e:
            if len(pending):
                yield emit(pending)
            yield SourceEvent(n_out * NS_PER_S // self.sample_rate, SourceEventKind.ERROR,
                              f"audio of {self.path.name} is damaged ({_short(e)}); audio before it was kept",
                              self.name)
            return
        finally:
            self.close()
        if len(pending):
            yield emit(pending)
        yield SourceEvent(n_out * NS_PER_S // self.sample_rate, SourceEventKind.ENDED, "end of audio", self.name)

    def close(self) -> None:
        super().close()
        try:
            self._container.close()
        except Exception:  # noqa: BLE001
            pass


def read_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Whole audio track as (n,) float32 mono at ``sample_rate``."""
    parts = [c.samples for c in RecordingAudioSource(path, sample_rate=sample_rate) if isinstance(c, AudioChunk)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

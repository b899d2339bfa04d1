"""The one interface every capture source implements.

A source is opened by its constructor or ``open()`` (raising ``SourceError``/``InputError``
with a clear message when it cannot be), then iterated: it yields ``VideoFrame`` (video
sources) or ``AudioChunk`` (audio sources) and ends by yielding exactly one ``SourceEvent``
(ENDED, LOST or ERROR) before stopping. ``stop()`` may be called from another thread and makes
the iteration end soon with ENDED. ``live`` sources stamp items with a session clock;
recordings stamp them from PTS / sample counts.
"""

from __future__ import annotations

import abc
import threading
from typing import Iterator

from interview_guard.core.types import AudioChunk, SourceEvent, VideoFrame


class Source(abc.ABC):
    name: str = "source"
    live: bool = True

    def __init__(self) -> None:
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:  # release handles; safe to call twice
        self.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoSource(Source):
    fps_hint: float = 30.0

    @abc.abstractmethod
    def __iter__(self) -> Iterator[VideoFrame | SourceEvent]:
        ...


class AudioSource(Source):
    sample_rate: int = 16000

    @abc.abstractmethod
    def __iter__(self) -> Iterator[AudioChunk | SourceEvent]:
        ...

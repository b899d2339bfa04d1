"""Realtime schedule: capture thread → bounded drop-oldest queue → one analysis worker.

* The capture thread never blocks: when the worker falls behind, the oldest waiting frame is
  dropped and counted (``stats.dropped``).
* The worker owns the Analyzer (mediapipe objects live on that thread only).
* Consumers (the Qt bridge, the headless ``live`` command) read ``latest`` (the newest
  analysed frame; older ones are discarded) and ``evidence`` (every Evidence, never dropped
  silently: the queue is large and overflows are counted) without ever waiting on analysis.

Latency is measured from the frame's capture stamp (``t_ns`` from the session clock) to the
moment its evidence is ready.

Audio (optional ``audio_source``, stamped by the same session clock): a third thread reads it into
a bounded drop-oldest queue (60 s of 0.1-s chunks; overflows counted as ``audio_dropped``); the
worker hands every waiting chunk to ``Analyzer.on_audio`` before each frame (and while it waits
for frames), so voice evidence joins the same step results, fusion and evidence list. An audio
source that fails or ends does not stop the video: its event is reported and the session goes on.
"""

from __future__ import annotations

import abc
import collections
import dataclasses
import queue
import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from interview_guard.capture.base import AudioSource, VideoSource
from interview_guard.core.buffers import DropOldestQueue
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import IGError
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence, SourceEvent, SourceEventKind, VideoFrame
from interview_guard.pipeline.analyzer import Analyzer, RunStats, StepResult


def _sleep_until(clock: SessionClock, due_ns: int, stopping: Callable[[], bool]) -> None:
    """Sleep in short steps until the session clock reaches ``due_ns`` or ``stopping()``."""
    while not stopping():
        wait = (due_ns - clock.now_ns()) / NS_PER_S
        if wait <= 0:
            return
        time.sleep(min(wait, 0.05))


class _Paced:
    """A recording played at its own rate on a session clock (shared by the video and audio
    wrappers): the item at recording time ``t`` is handed over at ``start + (t - t_first)``
    (+ ``_hold_ns(item)``), re-stamped by ``_restamp``; ``loop`` reopens it at its end."""

    end_message = "end"

    def __init__(self, inner, clock: SessionClock, *, loop: bool = False, reopen: Callable | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.clock = clock
        self.loop = loop
        self.reopen = reopen
        self.name = inner.name
        self.live = True

    def stop(self) -> None:
        super().stop()
        self.inner.stop()

    def _hold_ns(self, item) -> int:
        return 0

    @abc.abstractmethod
    def _restamp(self, item, t_ns: int):
        """The item as handed over now (its time on the session clock)."""

    def __iter__(self):
        while True:
            start_wall = self.clock.now_ns()
            first_t: int | None = None
            ended: SourceEvent | None = None
            for item in self.inner:
                if isinstance(item, SourceEvent):
                    ended = item
                    break
                if first_t is None:
                    first_t = item.t_ns
                t = start_wall + (item.t_ns - first_t)
                _sleep_until(self.clock, t + self._hold_ns(item), lambda: self.stopping)
                if self.stopping:
                    self.inner.stop()
                    yield SourceEvent(self.clock.now_ns(), SourceEventKind.ENDED, "stopped", self.name)
                    return
                yield self._restamp(item, t)
            if not self.loop or self.reopen is None or self.stopping or (ended and ended.kind is not SourceEventKind.ENDED):
                yield SourceEvent(self.clock.now_ns(), ended.kind if ended else SourceEventKind.ENDED,
                                  ended.message if ended else self.end_message, self.name)
                return
            self.inner = self.reopen()


class PacedSource(_Paced, VideoSource):
    """Plays a recording at its own frame rate, re-stamped by a session clock (the demo, tests)."""

    def __init__(self, inner: VideoSource, clock: SessionClock, *, loop: bool = False,
                 reopen: Callable[[], VideoSource] | None = None) -> None:
        super().__init__(inner, clock, loop=loop, reopen=reopen)
        self.fps_hint = inner.fps_hint
        self._index = 0

    def _restamp(self, item: VideoFrame, t_ns: int) -> VideoFrame:
        frame = VideoFrame(t_ns=self.clock.now_ns(), index=self._index, image=item.image, source=self.name)
        self._index += 1
        return frame


class PacedAudioSource(_Paced, AudioSource):
    """Plays a recording's audio at its own rate, re-stamped by a session clock: each chunk is
    handed over when it has been "heard" (its end is due), as a loopback capture would."""

    end_message = "end of audio"

    def _hold_ns(self, item: AudioChunk) -> int:
        return item.duration_ns

    def _restamp(self, item: AudioChunk, t_ns: int) -> AudioChunk:
        return dataclasses.replace(item, t_ns=t_ns, source=self.name)


AUDIO_QUEUE_CHUNKS = 600          # 60 s of 0.1-s chunks


@dataclass(frozen=True, slots=True)
class LiveStats:
    captured: int
    analysed: int
    dropped: int
    fps: float              # analysed frames per second over the last ~2 s
    latency_p50_ms: float
    latency_p95_ms: float
    perception_ms: float
    running: bool
    evidence_overflow: int
    audio_chunks: int = 0           # audio chunks analysed (0: no audio source)
    audio_dropped: int = 0          # audio chunks dropped because the analysis fell behind
    audio: str = ""                 # the audio source's name ("" = none)
    audio_s: float = 0.0            # seconds of sound analysed


@dataclass(frozen=True, slots=True)
class LiveUpdate:
    result: StepResult
    latency_ms: float


class RealtimeSession:
    """Runs a video source through an Analyzer on two threads.

    ``analyzer_factory`` is called on the worker thread. Errors while starting (e.g. a model
    failed its sha256 check) are re-raised by ``wait_started()``.
    """

    def __init__(self, source: VideoSource, analyzer_factory: Callable[[], Analyzer], *,
                 clock: SessionClock | None = None, queue_size: int = 2, evidence_queue: int = 10000,
                 audio_source: AudioSource | None = None) -> None:
        self.source = source
        self.audio_source = audio_source
        self.audio_chunks: DropOldestQueue[AudioChunk] = DropOldestQueue(AUDIO_QUEUE_CHUNKS)
        self.audio_taps: list[Callable[[AudioChunk], None]] = []
        self.audio_analysed = 0
        self.audio_seconds = 0.0
        self.audio_event: SourceEvent | None = None
        self.clock = clock or getattr(source, "clock", None) or SessionClock()
        self._factory = analyzer_factory
        self.frames: DropOldestQueue[VideoFrame] = DropOldestQueue(queue_size)
        self.latest: DropOldestQueue[LiveUpdate] = DropOldestQueue(1)
        self.evidence: DropOldestQueue[Evidence] = DropOldestQueue(evidence_queue)
        self.events: DropOldestQueue[SourceEvent] = DropOldestQueue(100)
        # fusion output (when the analyzer fuses): every level change, and the newest risk snapshot
        self.cues: DropOldestQueue = DropOldestQueue(1000)
        self.risk: DropOldestQueue = DropOldestQueue(1)
        self.all_cues: list = []
        # hooks: frame taps run on the capture thread for every captured frame (must not block,
        # e.g. the segment recorder's push_video); result taps on the worker after every step
        self.frame_taps: list[Callable[[VideoFrame], None]] = []
        self.result_taps: list[Callable[[StepResult], None]] = []
        self._external: queue.SimpleQueue = queue.SimpleQueue()
        self.run_stats = RunStats()
        self.all_evidence: list[Evidence] = []
        self._lat: collections.deque[float] = collections.deque(maxlen=300)
        self._done_t: collections.deque[float] = collections.deque(maxlen=120)
        self._captured = 0
        self._started = threading.Event()
        self._start_error: BaseException | None = None
        self._stop = threading.Event()
        self._capture_thread = threading.Thread(target=self._capture_loop, name="ig-capture", daemon=True)
        self._worker_thread = threading.Thread(target=self._worker_loop, name="ig-analysis", daemon=True)
        self._audio_thread = (threading.Thread(target=self._audio_loop, name="ig-audio", daemon=True)
                              if audio_source is not None else None)
        self.want_hands: bool | None = None
        self.analyzer: Analyzer | None = None

    # -- control -------------------------------------------------------------------------
    def start(self) -> "RealtimeSession":
        self._worker_thread.start()
        self._capture_thread.start()
        if self._audio_thread is not None:
            self._audio_thread.start()
        return self

    def wait_started(self, timeout: float = 30.0) -> None:
        if not self._started.wait(timeout):
            raise IGError("the analysis did not start within %.0f s" % timeout)
        if self._start_error is not None:
            raise self._start_error

    def stop(self) -> None:
        self._stop.set()
        self.source.stop()
        if self.audio_source is not None:
            self.audio_source.stop()
        self.frames.close()

    def join(self, timeout: float = 10.0) -> None:
        self._capture_thread.join(timeout)
        self._worker_thread.join(timeout)
        if self._audio_thread is not None and self._audio_thread.is_alive():
            self._audio_thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._worker_thread.is_alive()

    def add_evidence(self, evidence) -> None:
        """Evidence produced outside the detectors (e.g. a challenge result, detector id
        ``challenge_*``), from any thread: it joins the next step's evidence and the fusion."""
        self._external.put(tuple(evidence))

    @property
    def max_level(self) -> str:
        f = getattr(self.analyzer, "fusion", None)
        if f is not None:
            return f.max_level.value
        return "inconclusive" if self.run_stats.frames_with_face == 0 else "green"

    @property
    def started(self) -> bool:
        """True once the worker tried to start (check ``start_error``); never blocks."""
        return self._started.is_set()

    @property
    def start_error(self) -> BaseException | None:
        return self._start_error

    # -- threads ---------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        # Capture starts only when the analysis can take frames: loading and checking the models
        # takes seconds, during which a live source would only fill the drop counter and a
        # recording would play on unseen.
        while not self._started.wait(0.05):
            if self._stop.is_set():
                break
        if self._start_error is not None or self._stop.is_set():
            self.frames.close()
            self.source.close()
            return
        try:
            for item in self.source:
                if isinstance(item, SourceEvent):
                    self.events.put(item)
                    break
                self._captured += 1
                self.frames.put(item)
                for tap in self.frame_taps:
                    try:
                        tap(item)
                    except Exception:  # noqa: BLE001 - a tap (recorder) must never stop capture
                        pass
                if self._stop.is_set():
                    break
        except Exception as e:  # noqa: BLE001 - a capture failure must not kill the app
            self.events.put(SourceEvent(self.clock.now_ns(), SourceEventKind.ERROR, f"capture failed: {e}",
                                        getattr(self.source, "name", "")))
        finally:
            self.frames.close()

    def _audio_loop(self) -> None:
        src = self.audio_source
        while not self._started.wait(0.05):
            if self._stop.is_set():
                break
        if self._start_error is not None or self._stop.is_set():
            src.close()
            return
        name = getattr(src, "name", "audio")
        try:
            for item in src:
                if isinstance(item, SourceEvent):
                    if not (item.kind is SourceEventKind.ENDED and item.message == "stopped"):
                        self.audio_event = item
                        if item.kind in (SourceEventKind.LOST, SourceEventKind.ERROR):
                            self.events.put(SourceEvent(item.t_ns, item.kind, f"audio: {item.message}; the video "
                                                        "analysis goes on without sound", name))
                    if item.kind is not SourceEventKind.STARTED:
                        break
                    continue
                self.audio_chunks.put(item)
                for tap in self.audio_taps:
                    try:
                        tap(item)
                    except Exception:  # noqa: BLE001 - a tap (recorder) must never stop capture
                        pass
                if self._stop.is_set():
                    break
        except Exception as e:  # noqa: BLE001 - an audio failure must not stop the video
            self.audio_event = SourceEvent(self.clock.now_ns(), SourceEventKind.ERROR, f"audio capture failed: {e}", name)
            self.events.put(SourceEvent(self.audio_event.t_ns, SourceEventKind.ERROR,
                                        f"audio capture failed ({e}); the video analysis goes on without sound", name))
        finally:
            try:
                src.close()
            except Exception:  # noqa: BLE001
                pass

    def _analyse_audio(self) -> tuple[Evidence, ...]:
        """Every waiting audio chunk through ``analyzer.on_audio`` (worker thread)."""
        chunks = self.audio_chunks.drain() if len(self.audio_chunks) else []
        on_audio = getattr(self.analyzer, "on_audio", None)
        if not chunks or on_audio is None:
            return ()
        out: list[Evidence] = []
        for c in chunks:
            out.extend(on_audio(c))
            self.audio_analysed += 1
            self.audio_seconds += c.duration_ns / NS_PER_S
        return tuple(out)

    def _worker_loop(self) -> None:
        try:
            self.analyzer = self._factory()
        except BaseException as e:  # noqa: BLE001 - handed to wait_started()
            self._start_error = e
            self._started.set()
            self.stop()
            return
        self._started.set()
        try:
            while True:
                frame = self.frames.get(timeout=0.2)
                if frame is None:
                    if self.frames.closed and len(self.frames) == 0:
                        break
                    try:                      # no picture for now (window hidden?): the voice goes on
                        self._publish_loose(self._analyse_audio())
                    except Exception as e:  # noqa: BLE001 - reported like a frame failure below
                        self.events.put(SourceEvent(self.clock.now_ns(), SourceEventKind.ERROR,
                                                    f"the audio analysis stopped on an unexpected error: {e}",
                                                    getattr(self.audio_source, "name", "audio")))
                        self._stop.set()
                        self.source.stop()
                        break
                    continue
                try:
                    external: tuple[Evidence, ...] = ()
                    while not self._external.empty():
                        external += self._external.get_nowait()
                    if external and hasattr(self.analyzer, "add_evidence"):
                        self.analyzer.add_evidence(external)
                    heard = self._analyse_audio()
                    r = self.analyzer.on_frame(frame, want_hands=self.want_hands)
                    if external or heard:
                        r = dataclasses.replace(r, evidence=external + heard + r.evidence)
                except Exception as e:  # noqa: BLE001 - report, stop capture, keep what we have
                    self.events.put(SourceEvent(frame.t_ns, SourceEventKind.ERROR,
                                                f"the analysis stopped on an unexpected error: {e}", self.source.name))
                    self._stop.set()
                    self.source.stop()
                    break
                latency = (self.clock.now_ns() - frame.t_ns) / 1e6
                self._lat.append(latency)
                self._done_t.append(time.monotonic())
                self.run_stats.add(r)
                for ev in r.evidence:
                    self.all_evidence.append(ev)
                    self.evidence.put(ev)
                self._publish_fusion(r.cues)
                for tap in self.result_taps:
                    try:
                        tap(r)
                    except Exception:  # noqa: BLE001 - a tap must never stop the analysis
                        pass
                self.latest.put(LiveUpdate(r, latency))
            if hasattr(self.analyzer, "finish_fusion"):
                self._publish_fusion(self.analyzer.finish_fusion())
        finally:
            if self.audio_source is not None:      # the picture ended: so does listening
                self.audio_source.stop()
            self.analyzer.close()

    def _publish_loose(self, evidence: tuple[Evidence, ...]) -> None:
        """Evidence produced between frames (audio while no picture arrives)."""
        for ev in evidence:
            self.all_evidence.append(ev)
            self.evidence.put(ev)

    def _publish_fusion(self, cues) -> None:
        for c in cues:
            self.all_cues.append(c)
            self.cues.put(c)
        f = getattr(self.analyzer, "fusion", None)
        if f is not None:
            self.risk.put(f.snapshot())

    # -- read-outs ---------------------------------------------------------------------------
    def stats(self) -> LiveStats:
        lat = np.array(self._lat) if self._lat else np.zeros(1)
        done = list(self._done_t)
        fps = 0.0
        if len(done) >= 2:
            recent = [t for t in done if t >= done[-1] - 2.0]
            if len(recent) >= 2 and recent[-1] > recent[0]:
                fps = (len(recent) - 1) / (recent[-1] - recent[0])
        pm = self.run_stats.perception_ms[-30:]
        return LiveStats(
            captured=self._captured, analysed=self.run_stats.frames_analysed, dropped=self.frames.dropped,
            fps=fps, latency_p50_ms=float(np.percentile(lat, 50)), latency_p95_ms=float(np.percentile(lat, 95)),
            perception_ms=float(np.median(pm)) if pm else 0.0, running=self.running,
            evidence_overflow=self.evidence.dropped, audio_chunks=self.audio_analysed,
            audio_dropped=self.audio_chunks.dropped, audio_s=self.audio_seconds,
            audio=getattr(self.audio_source, "name", "") if self.audio_source is not None else "",
        )

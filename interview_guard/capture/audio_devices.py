"""Live audio: the call's sound (loopback of what the speakers play) and the microphone.

Linux: the call app plays into a PulseAudio/PipeWire *sink*; every sink has a *monitor*
source carrying the same sound. ``LoopbackAudioSource`` records that monitor through
PortAudio's ALSA ``pulse`` device (ALSA's PulseAudio plugin, apt ``libasound2-plugins``;
PipeWire provides the same via pipewire-pulse) with ``PULSE_SOURCE=<sink>.monitor`` set while
the stream opens (libpulse reads it once, when the plugin connects). The default sink comes from
``pactl info``. ``MicrophoneAudioSource`` records the default input (or a named one).

Timing: chunks carry ``t_ns = t0 + samples_so_far / rate``, where ``t0`` is the session clock at
the first callback minus that block's duration (≈ when its first sample was captured; measured
within ~20 ms of the playback start on PulseAudio). Samples come from the running count, never
from a clock, so blocks dropped on overload leave a gap in time instead of shifting later audio.

Threads: PortAudio calls ``_callback`` on its own thread; it only copies the block into a
bounded drop-oldest queue (``overflows`` counts drops, ``input_overflows`` counts PortAudio's
own overruns) and never waits. The first block arrives ~1 s after the stream opens on
PulseAudio, so the stream is opened and started in the constructor (errors surface there as
``SourceError``) and kept open.

``sounddevice`` is imported lazily: it raises ``OSError`` at import when libportaudio is
missing, which becomes a ``SourceError`` naming ``apt install libportaudio2``.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from interview_guard.capture.base import AudioSource
from interview_guard.core.buffers import DropOldestQueue
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import SourceError
from interview_guard.core.types import NS_PER_S, AudioChunk, SourceEvent, SourceEventKind

_SERVER_HINT = "start PulseAudio or PipeWire (e.g. `pulseaudio --start`), or pick another device (audio: mic / none)"

# PULSE_* variables are process-wide; they are set only while devices are scanned or a stream
# opens, under this lock (libpulse reads them once, when the ALSA plugin connects).
_ENV_LOCK = threading.RLock()
_OPEN_STREAMS = 0  # streams this module has open (PortAudio may be re-initialised only when 0)
_COUNT_LOCK = threading.Lock()


# ---------------------------------------------------------------------------------------------
# sounddevice / PortAudio


@contextmanager
def _env(overrides: Mapping[str, str]):
    """Set environment variables for the duration of the block (under the module's env lock)."""
    with _ENV_LOCK:
        saved = {k: os.environ.get(k) for k in overrides}
        os.environ.update(overrides)
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def import_sounddevice():
    """``sounddevice``, or ``SourceError`` when PortAudio is missing."""
    try:
        import sounddevice as sd
    except OSError as e:
        raise SourceError(f"no audio input device can be used: the PortAudio library is missing ({e})",
                          hint="apt install libportaudio2 (Debian/Ubuntu) or dnf install portaudio") from None
    except ImportError as e:  # pragma: no cover - sounddevice is a dependency
        raise SourceError(f"the sounddevice package is not installed ({e})",
                          hint="pip install sounddevice") from None
    return sd


def refresh_portaudio() -> bool:
    """Re-scan audio devices (PortAudio lists devices once, when it initialises).

    Needed when the sound server started after this process imported sounddevice. Only done
    when none of this module's streams is open; returns whether it re-scanned.
    """
    sd = import_sounddevice()
    with _COUNT_LOCK:
        if _OPEN_STREAMS:
            return False
        try:
            sd._terminate()  # noqa: SLF001 - the documented way to re-scan (sounddevice issue #47)
            sd._initialize()  # noqa: SLF001
        except sd.PortAudioError:
            return False
    return True


@dataclass(frozen=True, slots=True)
class AudioDeviceInfo:
    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    @property
    def label(self) -> str:
        return f"{self.name} ({self.hostapi})"


def list_audio_devices(*, inputs_only: bool = False, refresh: bool = False) -> list[AudioDeviceInfo]:
    """PortAudio's devices. ``refresh``: re-scan first (see ``refresh_portaudio``)."""
    sd = import_sounddevice()
    if refresh:
        refresh_portaudio()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        d_in, d_out = sd.default.device
    except sd.PortAudioError as e:
        raise SourceError(f"cannot list audio devices ({e})", hint=_SERVER_HINT) from None
    try:
        d_in = d_in if d_in is not None and d_in >= 0 else sd.query_devices(kind="input")["index"]
    except (sd.PortAudioError, ValueError, KeyError, TypeError):
        d_in = -1
    try:
        d_out = d_out if d_out is not None and d_out >= 0 else sd.query_devices(kind="output")["index"]
    except (sd.PortAudioError, ValueError, KeyError, TypeError):
        d_out = -1
    out = []
    for i, d in enumerate(devices):
        info = AudioDeviceInfo(i, d["name"], hostapis[d["hostapi"]]["name"], int(d["max_input_channels"]),
                               int(d["max_output_channels"]), float(d["default_samplerate"]),
                               i == d_in, i == d_out)
        if inputs_only and info.max_input_channels < 1:
            continue
        out.append(info)
    return out


# ---------------------------------------------------------------------------------------------
# PulseAudio / PipeWire (through pactl)


@dataclass(frozen=True, slots=True)
class PulseSource:
    index: int
    name: str
    state: str

    @property
    def is_monitor(self) -> bool:
        return self.name.endswith(".monitor")


def _pactl(*args: str, server: str | None = None, timeout: float = 5.0) -> str:
    exe = shutil.which("pactl")
    if exe is None:
        raise SourceError("pactl is not installed, so the sound server cannot be asked for its devices",
                          hint="apt install pulseaudio-utils (works with PipeWire too)")
    env = dict(os.environ)
    if server:
        env["PULSE_SERVER"] = server
    env.pop("PULSE_SOURCE", None)
    env.pop("PULSE_SINK", None)
    env["LC_ALL"] = "C"  # untranslated output to parse
    try:
        r = subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SourceError("no audio input device: the sound server does not answer (pactl timed out)",
                          hint=_SERVER_HINT) from None
    if r.returncode != 0:
        why = (r.stderr or r.stdout).strip().splitlines()
        why_s = why[-1] if why else f"exit code {r.returncode}"
        where = f" at {server}" if server else (f" at {os.environ['PULSE_SERVER']}"
                                                 if os.environ.get("PULSE_SERVER") else "")
        raise SourceError(f"no audio input device: cannot reach the PulseAudio/PipeWire sound server{where} "
                          f"({why_s})", hint=_SERVER_HINT)
    return r.stdout


def pulse_sources(*, server: str | None = None) -> list[PulseSource]:
    """Sources of the sound server (``pactl list short sources``); monitors end in ``.monitor``."""
    out = []
    for line in _pactl("list", "short", "sources", server=server).splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip().isdigit():
            out.append(PulseSource(int(parts[0]), parts[1].strip(), parts[-1].strip() if len(parts) >= 5 else ""))
    return out


def default_sink(*, server: str | None = None) -> str | None:
    """Name of the default sink (where call apps play), or None when the server has none.

    Read from ``pactl info`` (run with LC_ALL=C, so the labels are not translated); works with
    every pactl version (``get-default-sink`` needs pactl >= 15).
    """
    name = ""
    for line in _pactl("info", server=server).splitlines():
        if line.lower().startswith("default sink:"):
            name = line.split(":", 1)[1].strip()
    if not name or name == "@DEFAULT_SINK@":  # pactl prints the placeholder when no sink exists
        return None
    return name


def default_monitor(*, server: str | None = None) -> str:
    """The monitor source of the default sink (e.g. ``alsa_output.pci-0000_00_1f.3.analog-stereo.monitor``).

    Raises ``SourceError`` when the server is unreachable or has no sink.
    """
    sink = default_sink(server=server)
    if not sink:
        monitors = [s.name for s in pulse_sources(server=server) if s.is_monitor]
        if monitors:
            return monitors[0]
        raise SourceError("no audio output (sink) exists, so there is no call audio to listen to",
                          hint="check the sound settings, or create one: "
                               "pactl load-module module-null-sink sink_name=call")
    return f"{sink}.monitor"


def monitor_for(spec: str) -> str:
    """``call`` → ``call.monitor``; a name that already is a source is kept."""
    spec = spec.strip()
    return spec if spec.endswith(".monitor") or spec.startswith("@") else f"{spec}.monitor"


@dataclass(frozen=True, slots=True)
class LoopbackStatus:
    """Truthy when call audio can be captured; unpacks as ``ok, description = loopback_available()``."""

    available: bool
    description: str
    monitor: str | None = None

    def __bool__(self) -> bool:
        return self.available

    def __iter__(self):
        return iter((self.available, self.description))


def loopback_available(*, server: str | None = None) -> LoopbackStatus:
    """Whether call audio can be captured here, with a sentence saying how (or why not)."""
    if sys.platform == "win32":
        from interview_guard.capture import platform_windows

        return platform_windows.loopback_status()
    if sys.platform == "darwin":
        from interview_guard.capture import platform_macos

        return platform_macos.loopback_status()
    try:
        import_sounddevice()
        mon = default_monitor(server=server)
        names = {s.name for s in pulse_sources(server=server)}
    except SourceError as e:
        return LoopbackStatus(False, str(e))
    if mon not in names:
        return LoopbackStatus(False, f"the monitor source {mon} is not listed by the sound server")
    with _env({"PULSE_SERVER": server} if server else {}):
        found = _find_device_index("pulse", refresh_if_missing=True)
    if found is None:
        return LoopbackStatus(False, "PortAudio has no 'pulse' device (install libasound2-plugins, "
                                     "ALSA's PulseAudio plugin)", mon)
    return LoopbackStatus(True, f"call audio is recorded from {mon} (the monitor of the default output) "
                                "through PulseAudio/PipeWire", mon)


def _find_device_index(name: str, *, refresh_if_missing: bool) -> int | None:
    sd = import_sounddevice()
    for attempt in range(2):
        try:
            for i, d in enumerate(sd.query_devices()):
                if d["name"] == name and d["max_input_channels"] > 0:
                    return i
        except sd.PortAudioError:
            pass
        if attempt == 0 and not (refresh_if_missing and refresh_portaudio()):
            return None
    return None


# ---------------------------------------------------------------------------------------------
# the sources


class SoundDeviceAudioSource(AudioSource):
    """Mono float32 chunks from a PortAudio input device (the shared machinery).

    ``device``: PortAudio index or name (None = default input). ``env``: environment variables set
    while the stream opens (PulseAudio's ``PULSE_SOURCE``/``PULSE_SERVER``). ``extra_settings``:
    host-API settings (e.g. WASAPI). ``channels``: how many to open (downmixed to mono).
    ``max_queue_s``: audio buffered for a slow consumer before the oldest blocks are dropped.
    ``stall_s``: no block for this long after audio started → LOST. ``first_block_timeout_s``:
    no block at all for this long → ERROR.
    """

    def __init__(self, device: int | str | None = None, *, sample_rate: int = 16000, block_s: float = 0.1,
                 clock: Any = None, name: str = "audio", label: str | None = None,
                 env: Mapping[str, str] | None = None, extra_settings: Any = None, channels: int = 1,
                 max_queue_s: float = 5.0, stall_s: float = 3.0, first_block_timeout_s: float = 6.0) -> None:
        super().__init__()
        sd = import_sounddevice()
        if sample_rate <= 0 or block_s <= 0:
            raise SourceError(f"invalid audio settings: sample_rate={sample_rate}, block_s={block_s}")
        self.name = name
        self.label = label or name
        self.sample_rate = int(sample_rate)
        self.blocksize = max(1, int(round(block_s * sample_rate)))
        self.clock = clock if clock is not None else SessionClock()
        self.channels = int(channels)
        self.stall_s = float(stall_s)
        self.first_block_timeout_s = float(first_block_timeout_s)
        self._queue: DropOldestQueue[tuple[int, np.ndarray]] = DropOldestQueue(
            max(2, math.ceil(max_queue_s / block_s)))
        self.input_overflows = 0
        self._t0_ns: int | None = None
        self._n_samples = 0
        self._finished = threading.Event()
        self._stream_lock = threading.Lock()
        self._stream = None
        self._stream = self._open(sd, device, dict(env or {}), extra_settings)

    # -- opening ------------------------------------------------------------------------------
    def _open(self, sd, device, env: dict[str, str], extra_settings):
        global _OPEN_STREAMS
        with _env(env):
            try:
                stream = sd.InputStream(device=device, channels=self.channels, samplerate=self.sample_rate,
                                        dtype="float32", blocksize=self.blocksize, callback=self._callback,
                                        finished_callback=self._finished.set, extra_settings=extra_settings)
            except (sd.PortAudioError, ValueError) as e:
                raise SourceError(f"no audio input device: {self.label} cannot be opened "
                                  f"({_short(e)})", hint=self._open_hint()) from None
            try:
                stream.start()
            except sd.PortAudioError as e:
                stream.close(ignore_errors=True)
                raise SourceError(f"no audio input device: {self.label} cannot be started "
                                  f"({_short(e)})", hint=self._open_hint()) from None
        with _COUNT_LOCK:
            _OPEN_STREAMS += 1
        return stream

    def _open_hint(self) -> str:
        return _SERVER_HINT

    # -- the PortAudio thread -----------------------------------------------------------------
    def _callback(self, indata, frames, time_info, status) -> None:
        if self._t0_ns is None:
            self._t0_ns = int(self.clock.now_ns()) - frames * NS_PER_S // self.sample_rate
        if status.input_overflow:
            self.input_overflows += 1
        if indata.shape[1] == 1:
            block = indata[:, 0].copy()
        else:
            block = indata.mean(axis=1, dtype=np.float32)
        start = self._n_samples
        self._n_samples += frames
        self._queue.put((start, block))  # drop-oldest, never blocks for long

    @property
    def overflows(self) -> int:
        """Blocks dropped because the consumer fell more than ``max_queue_s`` behind."""
        return self._queue.dropped

    # -- the consumer --------------------------------------------------------------------------
    def __iter__(self) -> Iterator[AudioChunk | SourceEvent]:
        last_end_ns = 0
        got_any = False
        t_wait = time.monotonic()
        try:
            while True:
                if self.stopping:
                    yield SourceEvent(last_end_ns, SourceEventKind.ENDED, "stopped", self.name)
                    return
                item = self._queue.get(timeout=0.05)
                if item is not None:
                    start, block = item
                    t_ns = (self._t0_ns or 0) + start * NS_PER_S // self.sample_rate
                    chunk = AudioChunk(t_ns=t_ns, samples=block, sample_rate=self.sample_rate, source=self.name)
                    last_end_ns = t_ns + chunk.duration_ns
                    got_any = True
                    t_wait = time.monotonic()
                    yield chunk
                    continue
                waited = time.monotonic() - t_wait
                if self._finished.is_set() and not self.stopping:
                    yield SourceEvent(last_end_ns, SourceEventKind.LOST,
                                      f"{self.label} stopped delivering audio (the sound server stopped or the "
                                      "device was removed); the audio before was kept", self.name)
                    return
                if got_any and waited > self.stall_s:
                    yield SourceEvent(last_end_ns, SourceEventKind.LOST,
                                      f"no audio from {self.label} for {waited:.0f} s (the sound server stalled "
                                      "or the device was removed); the audio before was kept", self.name)
                    return
                if not got_any and waited > self.first_block_timeout_s:
                    yield SourceEvent(0, SourceEventKind.ERROR,
                                      f"no audio arrived from {self.label} within {waited:.0f} s of opening it",
                                      self.name)
                    return
        finally:
            self.stop()  # a finished source stays finished (a second iteration just says ENDED)
            self._close_stream()

    def _close_stream(self) -> None:
        global _OPEN_STREAMS
        with self._stream_lock:
            stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort(ignore_errors=True)
            stream.close(ignore_errors=True)
        except Exception:  # noqa: BLE001 - a dead server makes closing fail; nothing to do
            pass
        with _COUNT_LOCK:
            _OPEN_STREAMS -= 1

    def close(self) -> None:
        super().close()
        self._close_stream()


def _short(e: BaseException) -> str:
    s = " ".join(str(e).split()) or type(e).__name__
    return s[:200]


class LoopbackAudioSource(SoundDeviceAudioSource):
    """The call's sound: what plays on an output (Linux: a PulseAudio/PipeWire sink's monitor).

    ``monitor``: a source name (``call.monitor``) or a sink name (``call``); None = the monitor
    of the default sink. ``server``: a ``PULSE_SERVER`` string (default: the environment's).
    Windows (WASAPI loopback) and macOS (a loopback device such as BlackHole) are handled by
    :mod:`platform_windows` / :mod:`platform_macos`; the factory picks them.
    """

    def __init__(self, sample_rate: int = 16000, block_s: float = 0.1, monitor: str | None = None, *,
                 clock: Any = None, server: str | None = None, **kw: Any) -> None:
        if not sys.platform.startswith("linux"):
            raise SourceError(f"PulseAudio loopback capture is only available on Linux (this is {sys.platform})",
                              hint="use capture.factory.open_audio_source('loopback'), which picks the "
                                   "platform's loopback")
        import_sounddevice()
        mon = monitor_for(monitor) if monitor else default_monitor(server=server)
        sources = pulse_sources(server=server)
        names = [s.name for s in sources]
        if not mon.startswith("@") and mon not in names:
            monitors = [n for n in names if n.endswith(".monitor")]
            raise SourceError(f"no audio input device: the sound server has no source named {mon}; "
                              f"monitors it has: {', '.join(monitors) if monitors else 'none'}",
                              hint="name the output the call plays on, e.g. loopback:<sink name> "
                                   "(see `pactl list short sinks`)")
        self.monitor = mon
        env = {"PULSE_SOURCE": mon}
        if server:
            env["PULSE_SERVER"] = server
        with _env(env):  # PortAudio lists 'pulse' only if the server answers when it scans
            found = _find_device_index("pulse", refresh_if_missing=True)
        if found is None:
            raise SourceError("no audio input device: PortAudio has no 'pulse' device, so the sound server "
                              "cannot be recorded", hint="apt install libasound2-plugins (ALSA's PulseAudio "
                              "plugin; PipeWire users: pipewire-alsa or pipewire-pulse), then restart the app")
        super().__init__("pulse", sample_rate=sample_rate, block_s=block_s, clock=clock,
                         name=f"loopback:{mon}", label=f"the call-audio monitor {mon}", env=env, **kw)


class MicrophoneAudioSource(SoundDeviceAudioSource):
    """The interviewer's (or any) input device. ``device``: PortAudio index or name; None = default.

    Linux: ``pulse_source`` picks a PulseAudio/PipeWire source by name through the ``pulse``
    device (like the loopback does).
    """

    def __init__(self, device: int | str | None = None, *, sample_rate: int = 16000, block_s: float = 0.1,
                 clock: Any = None, pulse_source: str | None = None, server: str | None = None,
                 **kw: Any) -> None:
        sd = import_sounddevice()
        env: dict[str, str] = {}
        if server:
            env["PULSE_SERVER"] = server
        if pulse_source:
            env["PULSE_SOURCE"] = pulse_source
            device = "pulse" if device is None else device
        label = f"the microphone {device!r}" if device is not None else "the default microphone"
        if pulse_source:
            label = f"the input {pulse_source}"
        with _env(env):
            idx = self._resolve(sd, device, label)
        super().__init__(idx, sample_rate=sample_rate, block_s=block_s, clock=clock,
                         name=f"mic:{pulse_source or (device if device is not None else 'default')}",
                         label=label, env=env, **kw)

    @staticmethod
    def _resolve(sd, device, label: str) -> int:
        for attempt in range(2):
            try:
                if device is None:
                    info = sd.query_devices(kind="input")
                    return int(info["index"])
                if isinstance(device, int):
                    if sd.query_devices(device)["max_input_channels"] > 0:
                        return device
                    raise ValueError(f"device {device} has no inputs")
                return int(sd.query_devices(device, kind="input")["index"])
            except (sd.PortAudioError, ValueError):
                if attempt == 0 and refresh_portaudio():
                    continue
                try:
                    names = [d["name"] for d in sd.query_devices() if d["max_input_channels"] > 0]
                except sd.PortAudioError:
                    names = []
                raise SourceError(f"no audio input device: {label} was not found; inputs available: "
                                  f"{', '.join(names) if names else 'none'}", hint=_SERVER_HINT) from None
        raise AssertionError("unreachable")

"""Loopback capture of call audio through a real (private) PulseAudio server.

A corpus speech file is played with ``paplay --device=call`` into the null sink ``call`` while
``LoopbackAudioSource`` records ``call.monitor``; the recording must match the file.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.helpers.pulse import PulseServer
from interview_guard.capture import audio_devices as ad
from interview_guard.capture.factory import open_audio_source
from interview_guard.core.clock import SessionClock
from interview_guard.core.errors import SourceError
from interview_guard.core.types import NS_PER_S, AudioChunk, SourceEvent, SourceEventKind

SPEECH = "audio_real_speech/freevcdemo_real_M_p237_001.flac"  # 2.3 s, 48 kHz mono
RATE = 16000
BOGUS_SERVER = "unix:/nonexistent/ig-test/pulse/native"


@pytest.fixture(scope="module")
def speech_wav(corpus, tmp_path_factory):
    """The speech file decoded to 16 kHz mono 16-bit WAV (what paplay plays) and its samples."""
    import av
    import soundfile as sf

    src = corpus(SPEECH)
    parts = []
    with av.open(str(src)) as c:
        rs = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for frame in c.decode(c.streams.audio[0]):
            parts += [f.to_ndarray().reshape(-1) for f in rs.resample(frame)]
        parts += [f.to_ndarray().reshape(-1) for f in rs.resample(None)]
    x = np.concatenate(parts).astype(np.float32)
    path = tmp_path_factory.mktemp("audio") / "speech16k.wav"
    sf.write(path, x, RATE, subtype="PCM_16")
    ref, sr = sf.read(path, dtype="float32")
    assert sr == RATE and len(ref) > RATE
    return path, ref


class Recorder:
    """Iterates a source on a thread; keeps chunks and the final event."""

    def __init__(self, src) -> None:
        self.src = src
        self.chunks: list[AudioChunk] = []
        self.events: list[SourceEvent] = []
        self.first = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for item in self.src:
            if isinstance(item, AudioChunk):
                self.chunks.append(item)
                self.first.set()
            else:
                self.events.append(item)
        self.first.set()

    def finish(self, timeout: float = 5.0) -> None:
        self.src.stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the audio source did not stop"

    @property
    def samples(self) -> np.ndarray:
        return np.concatenate([c.samples for c in self.chunks]) if self.chunks else np.zeros(0, np.float32)


def _align(rec: np.ndarray, ref: np.ndarray) -> tuple[int, float]:
    """Lag of ``ref`` inside ``rec`` by FFT cross-correlation, and the Pearson r there.

    (numpy only: importing scipy.signal costs ~10 s when bytecode caching is off.)
    """
    assert len(rec) >= len(ref), f"recorded only {len(rec)} samples for a {len(ref)}-sample file"
    nfft = 1 << int(np.ceil(np.log2(len(rec) + len(ref))))
    c = np.fft.irfft(np.fft.rfft(rec, nfft) * np.conj(np.fft.rfft(ref, nfft)), nfft)[: len(rec) - len(ref) + 1]
    lag = int(np.argmax(c))
    return lag, float(np.corrcoef(rec[lag:lag + len(ref)], ref)[0, 1])


@pytest.mark.corpus
def test_loopback_records_what_the_call_plays(pulse_server, speech_wav):
    wav, ref = speech_wav
    module = pulse_server.add_null_sink("other")  # a second output nobody plays into
    clock = SessionClock()
    call = Recorder(ad.LoopbackAudioSource(RATE, 0.1, "call", clock=clock, server=pulse_server.server))
    other = Recorder(ad.LoopbackAudioSource(RATE, 0.1, "other.monitor", clock=clock, server=pulse_server.server))
    assert call.src.name == "loopback:call.monitor" and other.src.name == "loopback:other.monitor"
    try:
        assert call.first.wait(8.0) and other.first.wait(8.0), "no audio block within 8 s of opening"
        t_play_ns = clock.now_ns()
        player = pulse_server.play(wav, sink="call")
        assert player.wait(timeout=15) == 0, player.stderr.read()
        time.sleep(0.5)
    finally:
        call.finish()
        other.finish()
        pulse_server.pactl("unload-module", str(module))
    for r in (call, other):
        assert [e.kind for e in r.events] == [SourceEventKind.ENDED]
        assert r.src.overflows == 0
        # chunks: 0.1 s each, contiguous in time (t_ns from the sample count)
        assert all(len(c.samples) == 1600 and c.samples.dtype == np.float32 and c.sample_rate == RATE
                   for c in r.chunks)
        t = np.array([c.t_ns for c in r.chunks])
        assert np.all(np.diff(t) == 100_000_000)

    rec = call.samples
    lag, corr = _align(rec, ref)
    assert corr >= 0.95, f"recorded call audio correlates only {corr:.3f} with the file"
    gain = float(np.dot(rec[lag:lag + len(ref)], ref) / np.dot(ref, ref))
    assert 0.9 <= gain <= 1.1
    # the speech starts in session time about when paplay was started (process start + buffering)
    t_speech_ns = call.chunks[0].t_ns + lag * NS_PER_S // RATE
    offset_ms = (t_speech_ns - t_play_ns) / 1e6
    assert -150 <= offset_ms <= 1000, f"speech stamped {offset_ms:.0f} ms after playback started"
    assert float(np.abs(other.samples).max()) < 1e-3, "the other sink's monitor heard the call"
    print(f"\nloopback: {len(call.chunks)} chunks, correlation {corr:.4f}, gain {gain:.3f}, "
          f"lag {lag} samples, speech stamped {offset_ms:+.0f} ms after paplay started")


def test_default_monitor_and_factory(pulse_server, monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", pulse_server.server)
    assert ad.default_sink() == "call"
    assert ad.default_monitor() == "call.monitor"
    assert "call.monitor" in [s.name for s in ad.pulse_sources() if s.is_monitor]
    status = ad.loopback_available()
    assert status and status.monitor == "call.monitor" and "call.monitor" in status.description
    ok, description = status  # also unpacks as a pair (the doctor command does this)
    assert ok is True and description == status.description
    assert any(d.name == "pulse" and d.max_input_channels > 0 for d in ad.list_audio_devices(inputs_only=True))
    src = open_audio_source("loopback", sample_rate=RATE)
    try:
        assert isinstance(src, ad.LoopbackAudioSource) and src.monitor == "call.monitor"
        first = next(iter(src))
        assert isinstance(first, AudioChunk) and len(first.samples) == 1600
    finally:
        src.close()
    assert "PULSE_SOURCE" not in __import__("os").environ  # only set while the stream opened


def test_microphone_source_on_a_pulse_source(pulse_server):
    src = ad.MicrophoneAudioSource(pulse_source="call.monitor", server=pulse_server.server, block_s=0.05)
    rec = Recorder(src)
    try:
        assert rec.first.wait(8.0)
        time.sleep(0.3)
    finally:
        rec.finish()
    assert rec.chunks and all(len(c.samples) == 800 for c in rec.chunks)
    assert rec.events[-1].kind is SourceEventKind.ENDED


def test_unknown_monitor_lists_the_real_ones(pulse_server):
    with pytest.raises(SourceError) as ei:
        ad.LoopbackAudioSource(monitor="zoom_output", server=pulse_server.server)
    msg = str(ei.value)
    assert "no source named zoom_output.monitor" in msg and "call.monitor" in msg


def test_no_audio_server_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PULSE_SERVER", BOGUS_SERVER)
    attempts = {
        "loopback (env)": lambda: ad.LoopbackAudioSource(),
        "loopback (server=)": lambda: ad.LoopbackAudioSource(monitor="call", server=BOGUS_SERVER),
        "factory": lambda: open_audio_source("loopback"),
        "mic on pulse": lambda: ad.MicrophoneAudioSource("pulse", pulse_source="x.monitor"),
    }
    for what, make in attempts.items():
        with pytest.raises(SourceError) as ei:
            make()
        e = ei.value
        assert str(e).startswith("no audio input device"), (what, str(e))
        assert "start PulseAudio" in (e.hint or ""), (what, e.hint)
        assert e.__cause__ is None and (e.__suppress_context__ or e.__context__ is None), what
    status = ad.loopback_available()
    assert not status and "cannot reach the PulseAudio/PipeWire sound server" in status.description


def test_sound_server_dying_mid_capture_ends_with_lost():
    with PulseServer(sinks=("call",)) as ps:
        rec = Recorder(ad.LoopbackAudioSource(monitor="call", server=ps.server))
        assert rec.first.wait(8.0)
        time.sleep(0.3)
        n_before = len(rec.chunks)
        ps.stop()
        rec.thread.join(8.0)
    assert not rec.thread.is_alive(), "the source did not notice the server going away"
    assert len(rec.chunks) >= n_before >= 1
    assert len(rec.events) == 1 and rec.events[0].kind is SourceEventKind.LOST
    assert "stopped delivering audio" in rec.events[0].message
    assert "the audio before was kept" in rec.events[0].message

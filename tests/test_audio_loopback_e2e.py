"""End to end: call audio played into a PulseAudio null sink reaches the voice detectors.

A corpus speech file is played with ``paplay`` into the private server's ``call`` sink (what a
call app does), ``LoopbackAudioSource`` records ``call.monitor`` in 0.1-s chunks, and every chunk
goes to the registered audio detectors exactly as ``Analyzer.on_audio`` hands it over (the window
ends at the chunk's end). The voice countermeasure and the speaker-change detector must produce
evidence with times inside the recording, and no detector may raise.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from interview_guard.capture import audio_devices as ad
from interview_guard.core.clock import SessionClock
from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence
from interview_guard.detectors import registry
from interview_guard.detectors.contract import Window

SPEECH = "audio_real_speech/tortoise_ref_geralt_1.flac"   # one speaker, mostly speech
SECONDS = 10.0
RATE = 16000


@pytest.fixture(scope="module")
def speech_wav(corpus, tmp_path_factory):
    import soundfile as sf

    from interview_guard.capture.recording import read_audio

    x = read_audio(corpus(SPEECH), RATE)[: int(SECONDS * RATE)]
    path = tmp_path_factory.mktemp("loop") / "speech16k.wav"
    sf.write(path, x, RATE, subtype="PCM_16")
    return path


@pytest.mark.corpus
def test_call_audio_reaches_the_voice_detectors(pulse_server, speech_wav):
    ids = ["voice_synthetic", "speaker_change"]
    assert set(ids) <= set(registry.available())
    dets = registry.create_all(ids)
    for d in dets:  # load the models before the call starts (a live session does this at start-up)
        silence = AudioChunk(0, np.zeros(RATE // 10, np.float32), RATE)
        d.process(Window(t_ns=silence.duration_ns, audio=silence))
        d.reset()
    clock = SessionClock()
    src = ad.LoopbackAudioSource(RATE, 0.1, "call", clock=clock, server=pulse_server.server)
    evidence: list[Evidence] = []
    chunks: list[AudioChunk] = []
    errors: list[BaseException] = []
    started = threading.Event()

    def consume():
        try:
            for item in src:
                if not isinstance(item, AudioChunk):
                    break
                started.set()
                chunks.append(item)
                win = Window(t_ns=item.t_ns + item.duration_ns, audio=item)   # as Analyzer.on_audio
                for d in dets:
                    ev = d.process(win)
                    if ev is not None:
                        evidence.append(ev)
        except BaseException as e:  # noqa: BLE001 - reported by the test thread
            errors.append(e)
        finally:
            started.set()

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    try:
        assert started.wait(8.0), "no audio block within 8 s of opening the loopback"
        player = pulse_server.play(speech_wav, sink="call")
        assert player.wait(timeout=SECONDS + 20) == 0, player.stderr.read()
        deadline = time.monotonic() + 30.0
        # the detectors run in the consumer thread; wait until it caught up with the playback
        while time.monotonic() < deadline and (not chunks or chunks[-1].t_ns - chunks[0].t_ns < (SECONDS + 0.3) * NS_PER_S):
            time.sleep(0.1)
    finally:
        src.stop()
        th.join(10.0)
    assert not errors, errors
    assert not th.is_alive()
    assert src.overflows == 0, f"the detectors fell behind the live audio ({src.overflows} blocks dropped)"
    by_det: dict[str, list[Evidence]] = {}
    for e in evidence:
        by_det.setdefault(e.detector, []).append(e)
    assert by_det.get("voice_synthetic"), "the voice countermeasure produced no evidence from the call audio"
    assert by_det.get("speaker_change"), "the speaker-change detector produced no evidence from the call audio"
    t0, t1 = chunks[0].t_ns, chunks[-1].t_ns + chunks[-1].duration_ns
    for e in evidence:
        assert t0 <= e.t_start_ns <= e.t_end_ns <= t1 and np.isfinite(e.llr)
    vs = by_det["voice_synthetic"]
    print(f"\nloopback e2e: {len(chunks)} chunks; voice_synthetic {len(vs)} evidence, mean LLR "
          f"{np.mean([e.llr for e in vs]):+.2f}; speaker_change {[e.code for e in by_det['speaker_change']]}")

"""Sound in a live session: the recording's own track is played at its rate on the session clock
and reaches the audio detectors; an audio source that fails mid-call is reported and the video
analysis goes on; no sound source is a plain note, not an error."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from interview_guard.capture.base import AudioSource
from interview_guard.core.clock import SessionClock
from interview_guard.core.types import NS_PER_S, AudioChunk, SourceEvent, SourceEventKind
from interview_guard.pipeline.live import open_live_session
from interview_guard.pipeline.realtime import PacedAudioSource

REPO = Path(__file__).resolve().parents[2]


class _ToneThenFail(AudioSource):
    """Two seconds of a tone in 0.1-s chunks, then a device failure (as a USB headset unplugged)."""

    name = "tone"
    live = False

    def __iter__(self):
        sr = 16000
        for i in range(20):
            x = (0.1 * np.sin(2 * np.pi * 220 * np.arange(sr // 10) / sr)).astype(np.float32)
            yield AudioChunk(i * NS_PER_S // 10, x, sr, "tone")
        yield SourceEvent(2 * NS_PER_S, SourceEventKind.ERROR, "the device vanished", "tone")


def test_paced_audio_is_stamped_on_the_session_clock_at_its_own_rate():
    clock = SessionClock()
    src = PacedAudioSource(_ToneThenFail(), clock)
    t0 = clock.now_ns()
    wall0 = time.monotonic()
    items = list(src)
    wall = time.monotonic() - wall0
    chunks = [c for c in items if isinstance(c, AudioChunk)]
    assert len(chunks) == 20 and isinstance(items[-1], SourceEvent) and items[-1].kind is SourceEventKind.ERROR
    assert wall >= 1.9 and wall <= 3.5, f"2 s of sound played in {wall:.2f} s"
    steps = np.diff([c.t_ns for c in chunks])
    assert np.all(steps == steps[0]) and abs(steps[0] - NS_PER_S // 10) <= 1
    assert 0 <= chunks[0].t_ns - t0 < 0.2 * NS_PER_S


def test_demo_session_hears_its_own_track_and_the_voice_checks_answer():
    s = open_live_session("demo", audio="auto")
    assert s.audio_source is not None and "own audio track" in s.audio_note
    s.start()
    s.wait_started()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and s.stats().audio_s < 8:
        time.sleep(0.2)
    s.stop()
    s.join()
    st = s.stats()
    assert st.audio_s >= 8 and st.audio.startswith("file-audio")
    detectors = {e.detector for e in s.all_evidence}
    assert detectors & {"voice_synthetic", "speaker_change", "lip_sync"}, detectors
    assert st.analysed > 0
    assert not s.running


def test_failing_audio_is_reported_and_the_video_goes_on(tmp_path):
    from interview_guard.pipeline.live import session_for_source
    from interview_guard.capture.factory import open_video_source

    clock = SessionClock()
    video = open_video_source("demo", clock=clock)
    s = session_for_source(video, spec="demo", clock=clock, audio_source=PacedAudioSource(_ToneThenFail(), clock))
    s.start()
    s.wait_started()
    deadline = time.monotonic() + 30
    errors = []
    while time.monotonic() < deadline:
        ev = s.events.get(timeout=0.2)
        if ev is not None:
            errors.append(ev)
            break
    n_at_error = s.stats().analysed
    time.sleep(1.5)
    assert s.running and s.stats().analysed > n_at_error, "the video analysis stopped with the audio"
    s.stop()
    s.join()
    assert errors and errors[0].kind is SourceEventKind.ERROR
    assert "audio" in errors[0].message and "goes on without sound" in errors[0].message


def test_no_sound_is_a_note_not_an_error():
    s = open_live_session("demo", audio="none")
    assert s.audio_source is None and "not analysed" in s.audio_note
    s.source.close()

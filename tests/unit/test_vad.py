"""Speech gating (Silero VAD), the speaker encoder's mel front end, and the LFCC front end."""

from __future__ import annotations

import numpy as np
import pytest

from interview_guard.core.types import NS_PER_S, AudioChunk
from interview_guard.perception.vad import CHUNK, RATE, SileroVAD, SpeechStream, speech_mask, speech_probs

SPEECH = "audio_real_speech/tortoise_ref_geralt_1.flac"       # 19 s, one speaker, pauses
OTHER = "audio_real_speech/tortoise_ref_halle_1.flac"


@pytest.fixture(scope="module")
def speech(corpus) -> np.ndarray:
    from interview_guard.capture.recording import read_audio

    return read_audio(corpus(SPEECH))[: 10 * RATE]


@pytest.fixture(scope="module")
def vad() -> SileroVAD:
    return SileroVAD()


def test_silence_and_noise_are_not_speech(vad):
    rng = np.random.default_rng(0)
    assert speech_probs(np.zeros(2 * RATE, np.float32), vad=vad).max() < 0.2
    noise = (rng.standard_normal(2 * RATE) * 0.05).astype(np.float32)
    assert speech_mask(noise, vad=vad).mean() < 0.05
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * RATE) / RATE)).astype(np.float32)
    assert speech_mask(tone, vad=vad).mean() < 0.2


def test_speech_is_speech(vad, speech):
    p = speech_probs(speech, vad=vad)
    assert p.shape == (len(speech) // CHUNK,)
    assert 0.5 < float((p > 0.5).mean()) < 0.99  # mostly speech, with pauses
    m = speech_mask(speech, vad=vad)
    assert m.shape == speech.shape and 0.5 < m.mean() <= 1.0


def test_stream_matches_offline_whatever_the_chunking(vad, speech):
    """Odd chunk sizes and another sample rate give the same per-chunk flags as one offline pass."""
    from interview_guard.perception.vad import resample_to, speech_flags

    ref = speech_flags(speech_probs(speech, vad=vad))
    st = SpeechStream(keep_s=60.0)
    sizes = [1000, 1600, 7, 4096, 333]
    pos, i = 0, 0
    while pos < len(speech):
        n = sizes[i % len(sizes)]
        st.push(AudioChunk(pos * NS_PER_S // RATE, speech[pos:pos + n], RATE))
        pos += n
        i += 1
    assert np.array_equal(st.flags, ref[:len(st.flags)]) and len(st.flags) == len(ref)
    assert st.t_end_ns == len(ref) * CHUNK * NS_PER_S // RATE
    # 48 kHz input is resampled to 16 kHz first
    x48 = resample_to(speech, RATE, 48000)
    st48 = SpeechStream(keep_s=60.0)
    for k in range(0, len(x48), 4800):
        st48.push(AudioChunk(k * NS_PER_S // 48000, x48[k:k + 4800], 48000))
    agree = float(np.mean(st48.flags[:len(ref)] == ref[:len(st48.flags)]))
    assert agree > 0.95
    # the time stamps come from the chunks (a session that starts at t = 5 s)
    st5 = SpeechStream()
    st5.push(AudioChunk(5 * NS_PER_S, speech[:RATE], RATE))
    assert st5.t_end_ns == 5 * NS_PER_S + (RATE // CHUNK) * CHUNK * NS_PER_S // RATE


def test_mel_front_end_matches_librosa(speech):
    import librosa

    from interview_guard.perception.speaker import mel_frames

    x = speech[: 3 * RATE]
    ref = librosa.feature.melspectrogram(y=x, sr=RATE, n_fft=400, hop_length=160, n_mels=40).T
    got = mel_frames(x)
    assert got.shape == ref.shape
    assert float(np.abs(got - ref).max()) <= 1e-5 * float(ref.max())


def test_speaker_encoder_separates_speakers(corpus, speech):
    from interview_guard.capture.recording import read_audio
    from interview_guard.perception.speaker import SpeakerEncoder
    from interview_guard.perception.vad import speech_flags
    from interview_guard.perception.voice_cm import speech_only

    enc = SpeakerEncoder()
    other = read_audio(corpus(OTHER))[: 10 * RATE]

    def sp(x):
        return speech_only(x, speech_flags(speech_probs(x)))

    a, b = sp(speech), sp(other)
    e1, e2, e3 = enc.embed(a[: len(a) // 2]), enc.embed(a[len(a) // 2:]), enc.embed(b)
    assert e1.shape == (256,) and abs(float(np.linalg.norm(e1)) - 1.0) < 1e-4
    same, diff = float(e1 @ e2), float(e1 @ e3)
    assert same > 0.75 and diff < 0.7 and same - diff > 0.15, (same, diff)


def test_lfcc_features(speech):
    from interview_guard.perception.voice_cm import N_FEATURES, lfcc, window_features

    L = lfcc(speech[: 2 * RATE])
    assert L.shape == (1 + (2 * RATE - 320) // 160, 60) and np.isfinite(L).all()
    f = window_features(speech[: 4 * RATE])
    assert f.shape == (N_FEATURES,) and np.isfinite(f).all()
    assert window_features(np.zeros(100, np.float32)).shape == (N_FEATURES,)

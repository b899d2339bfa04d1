"""Speaker embeddings: the GE2E encoder (``models/speaker_encoder.onnx``) and its mel front end.

Front end (numpy, matching Resemblyzer's ``wav_to_mel_spectrogram``, which calls
``librosa.feature.melspectrogram`` with its defaults): 16 kHz audio, centred frames with zero
padding of n_fft/2 on both sides, periodic Hann window of 400 samples (25 ms), hop 160 (10 ms),
|STFT|² (power), 40 Slaney-normalised mel bands 0–8 kHz (``librosa.filters.mel``), **no log**.
Result: (frames, 40) float32. ``tests/unit/test_vad.py`` checks it against librosa.

Partials are 160 frames (1.6 s); an utterance/segment embedding is the L2-normalised mean of its
partial embeddings, compared by cosine similarity. The encoder was trained on speech loudness
normalised to −30 dBFS ("increase only"); ``normalize_volume`` does the same.

Cost: one 1.6-s partial ≈ 15–40 ms on one core (LSTM 3×256 over 160 frames), so the
speaker-change detector embeds non-overlapping partials (one per 1.6 s of speech).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from interview_guard.perception.model_store import ModelStore
from interview_guard.perception.vad import onnx_session

RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 40
PARTIAL_FRAMES = 160
PARTIAL_SAMPLES = PARTIAL_FRAMES * HOP     # 25 600 samples = 1.6 s
MODEL_ID = "speaker_encoder"
TARGET_DBFS = -30.0


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mel per 200 Hz) below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / log_step, lin)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    log_step = np.log(6.4) / 27.0
    return np.where(m >= 15.0, 1000.0 * np.exp(log_step * (m - 15.0)), m * (200.0 / 3.0))


@lru_cache(maxsize=1)
def mel_basis() -> np.ndarray:
    """(40, 201) float32 Slaney mel filterbank for Resemblyzer's settings (16 kHz, 400-point FFT,
    0–8 kHz): triangles between consecutive mel-spaced edges, each scaled to unit area
    (2 / bandwidth in Hz). Built here with numpy, so the live analysis never imports librosa
    (and numba); ``tests/unit/test_vad.py`` checks it against ``librosa.filters.mel``."""
    edges = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2.0), N_MELS + 2))     # (42,) Hz
    fft_hz = np.linspace(0.0, RATE / 2.0, 1 + N_FFT // 2)                                   # (201,) Hz
    width = np.diff(edges)                                                                   # (41,)
    ramps = edges[:, None] - fft_hz[None, :]                                                 # (42, 201)
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))                                   # (40, 201)
    weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float64)  # periodic Hann


def mel_frames(samples: np.ndarray) -> np.ndarray:
    """(frames, 40) float32 power-mel spectrogram of 16 kHz ``samples`` (1 + n // 160 frames)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    pad = N_FFT // 2
    xp = np.pad(x, (pad, pad), mode="constant")
    n_frames = 1 + (len(xp) - N_FFT) // HOP
    if n_frames <= 0:
        return np.zeros((0, N_MELS), dtype=np.float32)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    frames = xp[idx].astype(np.float64) * _window()[None, :]
    spec = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1)) ** 2            # (frames, 201)
    return (spec.astype(np.float32) @ mel_basis().T).astype(np.float32)


def normalize_volume(samples: np.ndarray, target_dbfs: float = TARGET_DBFS) -> np.ndarray:
    """Raise (never lower) the level to ``target_dbfs`` RMS, like Resemblyzer's preprocessing."""
    x = np.asarray(samples, dtype=np.float32)
    rms = float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if len(x) else 0.0
    if rms <= 1e-9:
        return x
    change_db = target_dbfs - 20.0 * np.log10(rms)
    return x if change_db <= 0 else (x * 10.0 ** (change_db / 20.0)).astype(np.float32)


def partial_mels(mel: np.ndarray, *, step: int = PARTIAL_FRAMES, min_coverage: float = 0.75) -> np.ndarray:
    """(n, 160, 40) partial windows of a mel spectrogram (hop ``step`` frames). The last partial
    is kept (zero-padded) when it covers ≥ ``min_coverage``; at least one partial is returned."""
    n = len(mel)
    starts = list(range(0, max(1, n - PARTIAL_FRAMES + 1), step))
    last_end = starts[-1] + PARTIAL_FRAMES
    if last_end < n and (n - (starts[-1] + step)) >= min_coverage * PARTIAL_FRAMES:
        starts.append(starts[-1] + step)
    out = np.zeros((len(starts), PARTIAL_FRAMES, N_MELS), dtype=np.float32)
    for i, s in enumerate(starts):
        seg = mel[s:s + PARTIAL_FRAMES]
        out[i, :len(seg)] = seg
    return out


def l2n(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32)
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-12)


class SpeakerEncoder:
    """ONNX GE2E encoder: ``embed_partials(mels)`` and ``embed(samples)``."""

    def __init__(self, store: ModelStore | None = None, *, threads: int = 1) -> None:
        from interview_guard.perception.vad import _default_store

        path = (store or _default_store()).path(MODEL_ID)
        self._sess = onnx_session(str(path), threads)

    def embed_partials(self, mels: np.ndarray) -> np.ndarray:
        """(n, frames, 40) → (n, 256) L2-normalised embeddings."""
        m = np.ascontiguousarray(mels, dtype=np.float32)
        if m.ndim == 2:
            m = m[None]
        return self._sess.run(None, {"mels": m})[0]

    def embed_partial(self, samples: np.ndarray) -> np.ndarray:
        """(256,) embedding of one ~1.6-s stretch of 16 kHz speech (level-normalised first)."""
        mel = mel_frames(normalize_volume(samples))[:PARTIAL_FRAMES]
        return self.embed_partials(mel[None])[0]

    def embed(self, samples: np.ndarray, *, step: int = PARTIAL_FRAMES // 2) -> np.ndarray:
        """(256,) utterance embedding: mean of the partials' embeddings, L2-normalised."""
        mel = mel_frames(normalize_volume(samples))
        e = self.embed_partials(partial_mels(mel, step=step))
        return l2n(e.mean(axis=0))

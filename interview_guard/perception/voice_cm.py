"""Synthetic/converted-voice countermeasure: spectral-flatness front end + the project's ONNX model.

Front end (numpy; the same code builds the training features, so runtime and training match):

* **Speech only.** The detector keeps VAD-speech chunks (``perception.vad``) and concatenates
  them; a window is the last ``WINDOW_S`` (4 s) of that speech, judged once ≥ ``MIN_SPEECH_S``
  (2 s) of speech exist and then every ``HOP_S`` (1 s) of new speech. ``speech_windows`` does
  the same offline, so file scores in training/measurement are what the detector would emit.
* **Band flatness statistics** (``window_features``, ``N_FEATURES`` = 36, ``FEATURES_VERSION``
  "flatness-stats-2"): 20-ms Hamming frames, 10-ms hop, 512-point FFT power spectrum; per frame
  and per band (0–0.5, 0.5–1, 1–2, 2–3, …, 7–8 kHz) the log spectral flatness (log geometric
  mean − log arithmetic mean of the power in the band: 0 for noise, very negative for clean
  harmonics); per band its mean, standard deviation and 10th/90th percentiles over the window's
  frames: the harmonic/noise balance of each band and how it varies over time, which vocoders
  and converters reproduce imperfectly (detection-methods §6.1). Level-invariant (above a
  1e-10 power floor), ~5 ms per window. Measured leave-one-system-out (``training/train_voice_model.py --loso``) they
  generalise far better to unseen systems than the earlier LFCC statistics (``lfcc-stats-1``:
  LFCC mean/std + 64-band log-spectrum shape; VC EER 58.5 %, TTS 21.9 %). ``lfcc`` is kept as
  a helper.

Model: logistic regression over the standardised statistics (standardisation folded into the
ONNX), output a logit (> 0 leans synthetic). The ONNX takes ``features`` (batch, 36) float32
and returns ``logit`` (batch, 1). The manifest row carries ``calibration`` (``llr = a·logit +
b``, fitted on held-out folds, then clipped) and the measured ``quality``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterator

import numpy as np

from interview_guard.perception.model_store import ModelStore
from interview_guard.perception.vad import onnx_session

RATE = 16000
FRAME = 320
HOP = 160
N_FFT = 512
N_FILT = 20
N_CEP = 20
N_BANDS = 64
WINDOW_S = 4.0
MIN_SPEECH_S = 2.0
HOP_S = 1.0
MODEL_ID = "voice_cm"
FLAT_BANDS_HZ = (0, 500, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000)
N_FEATURES = 4 * (len(FLAT_BANDS_HZ) - 1)
FEATURES_VERSION = "flatness-stats-2"


@lru_cache(maxsize=1)
def _hamming() -> np.ndarray:
    return np.hamming(FRAME).astype(np.float32)


@lru_cache(maxsize=4)
def linear_filterbank(n_filters: int) -> np.ndarray:
    """(n_filters, N_FFT//2+1) triangular filters equally spaced on a *linear* 0–8 kHz axis."""
    n_bins = N_FFT // 2 + 1
    freqs = np.linspace(0, RATE / 2, n_bins)
    edges = np.linspace(0, RATE / 2, n_filters + 2)
    fb = np.zeros((n_filters, n_bins), dtype=np.float32)
    for i in range(n_filters):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        up = (freqs - lo) / (mid - lo)
        down = (hi - freqs) / (hi - mid)
        fb[i] = np.maximum(0.0, np.minimum(up, down))
    return fb


@lru_cache(maxsize=1)
def _dct_matrix() -> np.ndarray:
    n = np.arange(N_FILT)
    k = np.arange(N_CEP)[:, None]
    m = np.cos(np.pi * k * (2 * n + 1) / (2 * N_FILT)) * np.sqrt(2.0 / N_FILT)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)  # (N_CEP, N_FILT), orthonormal DCT-II


def power_frames(samples: np.ndarray) -> np.ndarray:
    """(frames, 257) power spectra of 20-ms Hamming frames, 10-ms hop (no padding)."""
    x = np.asarray(samples, dtype=np.float32).reshape(-1)
    if len(x) < FRAME:
        return np.zeros((0, N_FFT // 2 + 1), dtype=np.float32)
    n = 1 + (len(x) - FRAME) // HOP
    idx = np.arange(FRAME)[None, :] + HOP * np.arange(n)[:, None]
    spec = np.fft.rfft(x[idx] * _hamming()[None, :], n=N_FFT, axis=1)
    return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)


def deltas(c: np.ndarray, width: int = 2) -> np.ndarray:
    """Regression deltas over ±``width`` frames (edges repeated)."""
    if len(c) == 0:
        return c
    p = np.pad(c, ((width, width), (0, 0)), mode="edge")
    num = sum(n * (p[width + n:len(p) - width + n] - p[width - n:len(p) - width - n]) for n in range(1, width + 1))
    return (num / (2 * sum(n * n for n in range(1, width + 1)))).astype(np.float32)


def lfcc(samples: np.ndarray, *, power: np.ndarray | None = None) -> np.ndarray:
    """(frames, 60) LFCC + Δ + ΔΔ."""
    P = power_frames(samples) if power is None else power
    if len(P) == 0:
        return np.zeros((0, 3 * N_CEP), dtype=np.float32)
    e = np.log(P @ linear_filterbank(N_FILT).T + 1e-8)
    c = e @ _dct_matrix().T
    d = deltas(c)
    return np.concatenate([c, d, deltas(d)], axis=1).astype(np.float32)


@lru_cache(maxsize=1)
def _flat_band_masks() -> tuple[np.ndarray, ...]:
    f = np.linspace(0, RATE / 2, N_FFT // 2 + 1)
    out = []
    for lo, hi in zip(FLAT_BANDS_HZ[:-1], FLAT_BANDS_HZ[1:]):
        out.append((f >= lo) & ((f < hi) if hi < RATE / 2 else (f <= hi)))
    return tuple(out)


def band_flatness(P: np.ndarray) -> np.ndarray:
    """(frames, bands) log spectral flatness (≤ 0) of power spectra ``P`` in ``FLAT_BANDS_HZ``."""
    P = np.asarray(P, dtype=np.float64)
    logP = np.log(P + 1e-10)
    cols = []
    for m in _flat_band_masks():
        cols.append(logP[:, m].mean(axis=1) - np.log(P[:, m].mean(axis=1) + 1e-10))
    return np.stack(cols, axis=1)


def window_features(samples: np.ndarray) -> np.ndarray:
    """(N_FEATURES,) float32 statistics of one speech window (see module doc): per band the mean,
    standard deviation, 10th and 90th percentile of the frames' log flatness."""
    P = power_frames(samples)
    if len(P) < 3:
        return np.zeros(N_FEATURES, dtype=np.float32)
    fl = band_flatness(P)
    p10, p90 = np.percentile(fl, [10, 90], axis=0)
    stats = np.stack([fl.mean(axis=0), fl.std(axis=0), p10, p90], axis=1)   # (bands, 4)
    return stats.reshape(-1).astype(np.float32)


def speech_only(samples: np.ndarray, flags: np.ndarray, chunk: int = 512) -> np.ndarray:
    """Concatenate the VAD chunks flagged as speech (``flags``: one bool per ``chunk`` samples)."""
    n = min(len(flags), len(samples) // chunk)
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    blocks = np.asarray(samples[:n * chunk], dtype=np.float32).reshape(n, chunk)
    return blocks[np.asarray(flags[:n], dtype=bool)].reshape(-1)


def speech_windows(speech: np.ndarray, *, window_s: float = WINDOW_S, min_s: float = MIN_SPEECH_S,
                   hop_s: float = HOP_S, chunk: int = 512) -> Iterator[tuple[int, np.ndarray]]:
    """(end sample, window) over a speech-only signal, as the streaming detector judges it:
    first at ``min_s`` of speech, then every ``hop_s``, each window the last ``window_s``.
    Ends are rounded up to whole VAD chunks like the stream delivers them."""
    n = len(speech)
    w = int(window_s * RATE)
    first = int(np.ceil(min_s * RATE / chunk)) * chunk
    step = int(np.ceil(hop_s * RATE / chunk)) * chunk
    end = first
    while end <= n:
        yield end, speech[max(0, end - w):end]
        end += step


class VoiceCM:
    """The ONNX countermeasure: ``logits(features)`` and ``llr(logit)`` from the manifest row."""

    def __init__(self, store: ModelStore | None = None, *, threads: int = 1, path: str | None = None,
                 calibration: dict | None = None) -> None:
        if path is None:
            from interview_guard.perception.vad import _default_store

            st = store or _default_store()
            path = str(st.path(MODEL_ID))
            row = st.row(MODEL_ID)
            calibration = calibration or row.extra.get("calibration")
        self._sess = onnx_session(str(path), threads)
        cal = calibration or {}
        self.a = float(cal.get("a", 1.0))
        self.b = float(cal.get("b", 0.0))
        self.llr_min = float(cal.get("llr_min", -1.0))
        self.llr_max = float(cal.get("llr_max", 2.3))

    def logits(self, feats: np.ndarray) -> np.ndarray:
        f = np.ascontiguousarray(np.atleast_2d(feats), dtype=np.float32)
        return self._sess.run(None, {"features": f})[0].reshape(-1)

    def llr(self, logit: float) -> float:
        return float(np.clip(self.a * logit + self.b, self.llr_min, self.llr_max))

    def score(self, speech_window: np.ndarray) -> float:
        return float(self.logits(window_features(speech_window))[0])

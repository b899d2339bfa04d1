"""voice_cm front end (flatness-stats-2): shape, level invariance, noise vs harmonics."""

from __future__ import annotations

import numpy as np

from interview_guard.perception.voice_cm import FLAT_BANDS_HZ, N_FEATURES, RATE, band_flatness, power_frames, window_features


def _harmonic(f0: float = 150.0, seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, int(7900 // f0)))
    return (0.1 * x / np.abs(x).max()).astype(np.float32)


def test_shape_and_layout():
    x = _harmonic()
    f = window_features(x)
    assert N_FEATURES == 4 * (len(FLAT_BANDS_HZ) - 1) == f.shape[0] and np.isfinite(f).all()
    assert window_features(np.zeros(100, np.float32)).shape == (N_FEATURES,)
    fl = band_flatness(power_frames(x))
    per_band = f.reshape(-1, 4)            # (bands, [mean, std, p10, p90])
    assert np.allclose(per_band[:, 0], fl.mean(axis=0), atol=1e-4)
    assert (per_band[:, 2] <= per_band[:, 3] + 1e-6).all()


def test_level_invariant_and_noise_flatter_than_harmonics():
    rng = np.random.default_rng(0)
    noise = (0.05 * rng.standard_normal(4 * RATE)).astype(np.float32)
    h = _harmonic() + (1e-3 * rng.standard_normal(4 * RATE)).astype(np.float32)   # 40 dB below the voice
    assert np.allclose(window_features(h), window_features(h * 0.1), atol=0.02)
    fn, fh = window_features(noise).reshape(-1, 4), window_features(h).reshape(-1, 4)
    assert (fn[:, 0] > fh[:, 0]).all()           # white noise: flatness near 0 in every band
    assert (fn[:, 0] > -1.0).all()

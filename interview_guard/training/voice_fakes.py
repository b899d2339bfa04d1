"""DSP voice fakes made from real speech, and call-channel round trips (build time only).

We have no neural-vocoder or voice-conversion weights, so the project's own "converted" speech
comes from classic signal processing (detection-methods.md §6.3). Every recipe takes 16 kHz
mono float32 speech and a ``numpy.random.Generator`` and is deterministic for a given seed:

* ``world_pitch``   WORLD (pyworld DIO + StoneMask + CheapTrick + D4C) analysis/re-synthesis with
                    F0 × 2^(k/12), k ∈ ±[2, 6] semitones.
* ``world_formant`` WORLD with the spectral envelope warped by α ∈ [0.88, 0.95] ∪ [1.05, 1.12]
                    (formant shift) and a small pitch shift.
* ``world_smooth``  WORLD copy-synthesis with the F0 contour median-smoothed (5–9 frames) and the
                    aperiodicity flattened: no shift, only the vocoder's own traces.
* ``pv_pitch``      phase-vocoder pitch shift (librosa: time stretch + resample), ±[2, 6] st.
* ``griffin_lim``   STFT magnitude → Griffin-Lim phase (16–64 iterations).
* ``block_vc``      real-time-changer imitation: 0.25-s blocks processed independently (WORLD
                    pitch/formant shift per block, fresh phase) and joined with 50-ms crossfades.

``channel(x, rng)`` is applied to **both** classes so that a codec or a narrow band never tells
real from fake: Opus 16/24/32 kbps, AAC 32 kbps or MP3 32 kbps round trips through PyAV, or none,
and sometimes a low-pass at 5.5 or 7 kHz (band-limited headsets / vocoders at lower rates).
``codec_roundtrip(x, "opus24")`` is also what the measurement uses for the Opus 24 kbps test.
"""

from __future__ import annotations

import io
from typing import Callable

import numpy as np

RATE = 16000
FAKE_KINDS = ("world_pitch", "world_formant", "world_smooth", "pv_pitch", "griffin_lim", "block_vc")
CODECS = {
    # name: (codec, codec sample rate, bit rate, container, priming samples to drop at 16 kHz)
    "opus16": ("libopus", 16000, 16000, "ogg", 0),
    "opus24": ("libopus", 16000, 24000, "ogg", 0),
    "opus32": ("libopus", 48000, 32000, "ogg", 0),
    "aac": ("aac", 16000, 32000, "adts", 1024),
    "mp3": ("libmp3lame", 16000, 32000, "mp3", 0),
}


# --- channel ---------------------------------------------------------------------------------

def codec_roundtrip(x: np.ndarray, name: str) -> np.ndarray:
    """Encode ``x`` (16 kHz mono float32) with codec ``name`` (see ``CODECS``) in memory and decode
    it back to 16 kHz; same length as ``x`` (priming removed, tail padded/cut)."""
    import av

    codec, rate, bitrate, fmt, priming = CODECS[name]
    x = np.clip(np.asarray(x, dtype=np.float32), -1.0, 1.0)
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as c:
        s = c.add_stream(codec, rate=rate)
        s.bit_rate = bitrate
        s.layout = "mono"
        fr = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
        fr.sample_rate = RATE
        rs = av.AudioResampler(format=s.format.name, layout="mono", rate=rate,
                               frame_size=s.codec_context.frame_size or 1024)
        for f in rs.resample(fr) + rs.resample(None):
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    buf.seek(0)
    parts = []
    with av.open(buf, "r") as c:
        r = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        for f in c.decode(c.streams.audio[0]):
            parts += [g.to_ndarray().reshape(-1) for g in r.resample(f)]
        parts += [g.to_ndarray().reshape(-1) for g in r.resample(None)]
    y = np.concatenate(parts).astype(np.float32) if parts else np.zeros(0, np.float32)
    y = y[priming:]
    if len(y) < len(x):
        y = np.pad(y, (0, len(x) - len(y)))
    return y[:len(x)]


def lowpass(x: np.ndarray, cutoff_hz: float) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(8, cutoff_hz, btype="low", fs=RATE, output="sos")
    return sosfiltfilt(sos, x).astype(np.float32)


CHANNELS = ("none", "opus16", "opus24", "opus32", "aac", "mp3")


def channel(x: np.ndarray, rng: np.random.Generator, *, codec: str | None = None) -> tuple[np.ndarray, str]:
    """A random call channel for either class: optional low-pass, then a codec (or none)."""
    tag = []
    y = np.asarray(x, dtype=np.float32)
    if rng.random() < 0.25:
        fc = float(rng.choice([5500.0, 7000.0]))
        y = lowpass(y, fc)
        tag.append(f"lp{int(fc)}")
    name = codec if codec is not None else str(rng.choice(CHANNELS))
    if name != "none":
        y = codec_roundtrip(y, name)
    tag.append(name)
    # level: calls arrive at any loudness
    y = y * float(10 ** (rng.uniform(-12, 3) / 20))
    return np.clip(y, -1, 1).astype(np.float32), "+".join(tag)


# --- WORLD -----------------------------------------------------------------------------------

def _pyworld():
    """``import pyworld``. pyworld 0.3.5's ``__init__`` reads its version through
    ``pkg_resources`` (setuptools), which a plain venv lacks: give it a two-line stand-in backed
    by ``importlib.metadata`` instead of pulling setuptools into the environment."""
    import sys

    try:
        import pyworld as pw
        return pw
    except ModuleNotFoundError as e:
        if e.name != "pkg_resources":
            raise
    import types
    from importlib.metadata import version

    shim = types.ModuleType("pkg_resources")
    shim.get_distribution = lambda name: types.SimpleNamespace(version=version(name))  # type: ignore[attr-defined]
    sys.modules["pkg_resources"] = shim
    try:
        import pyworld as pw
    finally:
        del sys.modules["pkg_resources"]
    return pw


def _world(x: np.ndarray):
    pw = _pyworld()

    xd = np.asarray(x, dtype=np.float64)
    f0, t = pw.dio(xd, RATE, frame_period=5.0)
    f0 = pw.stonemask(xd, f0, t, RATE)
    sp = pw.cheaptrick(xd, f0, t, RATE)
    ap = pw.d4c(xd, f0, t, RATE)
    return f0, sp, ap


def _synth(f0, sp, ap) -> np.ndarray:
    pw = _pyworld()

    y = pw.synthesize(np.ascontiguousarray(f0), np.ascontiguousarray(sp), np.ascontiguousarray(ap), RATE, 5.0)
    return y.astype(np.float32)


def _warp_envelope(sp: np.ndarray, alpha: float) -> np.ndarray:
    """Formant shift: new envelope at f = old envelope at f / alpha (alpha > 1 raises formants)."""
    n = sp.shape[1]
    src = np.clip(np.arange(n) / alpha, 0, n - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    w = src - lo
    return np.ascontiguousarray(sp[:, lo] * (1 - w) + sp[:, hi] * w)


def _median_smooth(f0: np.ndarray, k: int) -> np.ndarray:
    from scipy.signal import medfilt

    voiced = f0 > 0
    out = f0.copy()
    if voiced.sum() > k:
        sm = medfilt(f0, k)
        out[voiced] = np.where(sm[voiced] > 0, sm[voiced], f0[voiced])
    return out


def _match_level(y: np.ndarray, ref: np.ndarray) -> np.ndarray:
    n = min(len(y), len(ref))
    y = y[:n] if len(y) >= len(ref) else np.pad(y, (0, len(ref) - len(y)))
    ry = float(np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-9)
    rr = float(np.sqrt(np.mean(ref.astype(np.float64) ** 2)) + 1e-9)
    return np.clip(y * (rr / ry), -1, 1).astype(np.float32)


def _shift_st(rng: np.random.Generator, lo: float = 2.0, hi: float = 6.0) -> float:
    return float(rng.uniform(lo, hi) * rng.choice([-1.0, 1.0]))


def world_pitch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f0, sp, ap = _world(x)
    y = _synth(f0 * 2 ** (_shift_st(rng) / 12), sp, ap)
    return _match_level(y, x)


def world_formant(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f0, sp, ap = _world(x)
    a = float(rng.choice([rng.uniform(0.88, 0.95), rng.uniform(1.05, 1.12)]))
    y = _synth(f0 * 2 ** (rng.uniform(-2, 2) / 12), _warp_envelope(sp, a), ap)
    return _match_level(y, x)


def world_smooth(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f0, sp, ap = _world(x)
    k = int(rng.choice([5, 7, 9]))
    ap2 = np.clip(ap * 0.5 + 0.5 * ap.mean(axis=0, keepdims=True), 0.0, 1.0) if rng.random() < 0.7 else ap
    y = _synth(_median_smooth(f0, k), sp, np.ascontiguousarray(ap2))
    return _match_level(y, x)


def pv_pitch(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import librosa

    y = librosa.effects.pitch_shift(np.asarray(x, np.float32), sr=RATE, n_steps=_shift_st(rng),
                                    res_type="soxr_hq" if _has_soxr() else "polyphase")
    return _match_level(y, x)


def griffin_lim(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    import librosa

    n_fft = int(rng.choice([512, 1024]))
    S = np.abs(librosa.stft(np.asarray(x, np.float32), n_fft=n_fft, hop_length=n_fft // 4))
    y = librosa.griffinlim(S, n_iter=int(rng.integers(16, 65)), hop_length=n_fft // 4, n_fft=n_fft,
                           random_state=int(rng.integers(1 << 31)), length=len(x))
    return _match_level(y, x)


def block_process(x: np.ndarray, fn: Callable[[np.ndarray], np.ndarray], *, block_s: float = 0.25,
                  xfade_s: float = 0.05) -> np.ndarray:
    """Process ``x`` in independent blocks of ``block_s`` (each block gets ``xfade_s`` of extra
    context) and join them with linear crossfades of ``xfade_s``, like a real-time changer."""
    b = int(block_s * RATE)
    xf = int(xfade_s * RATE)
    out = np.zeros(len(x) + b + xf, dtype=np.float32)
    fade_in = np.linspace(0, 1, xf, dtype=np.float32)
    for i, start in enumerate(range(0, len(x), b)):
        seg = x[start:start + b + xf]
        if len(seg) < 64:
            break
        y = fn(seg)[:len(seg)]
        if len(y) < len(seg):
            y = np.pad(y, (0, len(seg) - len(y)))
        if i > 0:
            y[:xf] *= fade_in[:len(y[:xf])]
        tail = len(y) - b
        if tail > 0 and start + b < len(x):
            y[b:] *= (1 - fade_in)[:tail]
        out[start:start + len(y)] += y
    return out[:len(x)]


def block_vc(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    st = _shift_st(rng, 1.0, 5.0)
    a = float(rng.uniform(0.9, 1.1))

    def one(seg: np.ndarray) -> np.ndarray:
        if len(seg) < 1024:
            return seg
        f0, sp, ap = _world(seg)
        return _synth(f0 * 2 ** (st / 12), _warp_envelope(sp, a), ap)

    return _match_level(block_process(np.asarray(x, np.float32), one), x)


_RECIPES: dict[str, Callable[[np.ndarray, np.random.Generator], np.ndarray]] = {
    "world_pitch": world_pitch, "world_formant": world_formant, "world_smooth": world_smooth,
    "pv_pitch": pv_pitch, "griffin_lim": griffin_lim, "block_vc": block_vc,
}


def make_fake(x: np.ndarray, kind: str, seed: int) -> np.ndarray:
    """One DSP fake of ``kind`` from real speech ``x`` (deterministic for ``seed``)."""
    rng = np.random.default_rng(seed)
    y = _RECIPES[kind](np.asarray(x, dtype=np.float32), rng)
    y = np.nan_to_num(y, nan=0.0, posinf=0.0, neginf=0.0)
    return np.clip(y, -1, 1).astype(np.float32)


def _has_soxr() -> bool:
    try:
        import soxr  # noqa: F401
    except ImportError:
        return False
    return True

"""Lip sync: does the mouth move with the voice? (weight-free; detection-methods.md §7.2)

Signals, both at 100 Hz:

* **mouth opening** a(t) = inner-lip gap |p13 − p14| over mouth width |p61 − p291| (Face Mesh),
  from every observation with a usable face, linearly interpolated between frames;
* **speech envelope** = log RMS of the 150–4000 Hz band in 10-ms blocks of the call audio, with
  Silero VAD speech flags.

Every ``hop_s`` (0.5 s) of data time, over the last ``window_s`` (4 s) where both exist, both
signals are band-passed to 0.5–10 Hz and *differentiated* (opening velocity vs envelope slope:
onsets and closures), z-scored, and cross-correlated over lags τ ∈ ±500 ms (10-ms steps; τ > 0
means the voice comes *after* the lips). The dossier's plain 2–7 Hz band makes r(τ) oscillate at
the syllable rate (~4 Hz), and on the corpus' real clips its global peak often jumped one cycle
(+300…+470 ms) away from the lag an independent pixel measure (mouth-region darkness) gave; the
velocity form agreed with that measure on 4 of 5 clips. A window is *usable* when ≥ 40 % of it
is speech (Silero VAD), the face is visible in ≥ 80 % of it, frames come at ≥ 12 fps. From 4 to
12 fps (an offline analysis at its default 5 frames/s) syllables are too fast for the mouth
samples, so only ``lips_still`` is judged, over 1-s speech blocks; the evidence says
``lag_judged: false`` and nothing is emitted when the lips move (the timing was not checked, so
nothing is cleared). Measured on the corpus at 5 fps: no flag on any of the 26 genuine clips with
audio or 31 reenactments; a face frozen over the clip's own speech is flagged on the same 30 clips
as at full rate.

The last ``history`` (8) usable windows are aggregated: the lag is the peak of their *mean*
correlation curve (robust to one window's peak jumping a syllable); ``agreement`` is the fraction
of windows whose own peak lies within 100 ms of it. Flags (≥ ``min_windows`` = 3 windows):

* ``lips_still``: speech is heard while the lips stay still (mouth-opening std < 1.2 % of the
  mouth width over 0.5-s speech blocks) in ≥ 60 % of the windows: someone speaking off camera;
* ``weak_coupling``: the mouth and the voice do not move together — mean-curve peak < 0.15,
  peak at the edge of the search range, ≥ 60 % of windows with a weak (< 0.2) or edge peak, or
  agreement < 50 %: dubbed audio or a proxy speaking;
* ``late_voice``: a coupled, consistent lag ≥ 200 ms — a late voice, typical of real-time voice
  conversion (≥ 0.25-s blocks).

Otherwise a mildly negative LLR when the coupling is strong at a natural lag (−40…+160 ms).
Without a usable face or without speech the detector abstains (no evidence).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.detectors.contract import Detector, Window
from interview_guard.detectors.registry import register
from interview_guard.perception.vad import CHUNK, CHUNK_NS, RATE

FPS = 100                     # analysis rate of both signals
BLOCK = RATE // FPS           # 160 samples = 10 ms
NS_PER_TICK = NS_PER_S // FPS
LIP_UP, LIP_DOWN, CORNER_L, CORNER_R = 13, 14, 61, 291
LIPS_STILL_REASON = ("The voice is heard while the candidate's lips stay still: the speech may come from someone "
                     "off camera. Ask the candidate to answer while facing the camera.")


@dataclass(frozen=True)
class LipSyncConfig:
    window_s: float = 4.0
    band_hz: tuple[float, float] = (0.5, 10.0)
    hop_s: float = 0.5
    max_lag_s: float = 0.5
    min_speech_frac: float = 0.4
    min_face_frac: float = 0.8
    min_fps: float = 12.0
    min_still_fps: float = 4.0      # from here up to min_fps only "lips still while speaking" is judged
    still_block_s: float = 0.5      # speech blocks over which the lips' stillness is measured ...
    still_block_low_fps_s: float = 1.0  # ... and below min_fps (enough mouth samples per block)
    min_face_px: float = 60.0
    still_std: float = 0.012        # mouth-opening std (fraction of mouth width) below which lips are "still"
    history: int = 8
    min_windows: int = 3
    late_s: float = 0.2
    weak_r: float = 0.2             # one window's peak correlation below this is weak
    weak_agg_r: float = 0.15        # the mean curve's peak below this: no coupling
    min_agreement: float = 0.5      # fraction of windows whose own peak is within 100 ms of the mean curve's
    weak_frac: float = 0.6
    still_frac: float = 0.6
    natural_lag_s: tuple[float, float] = (-0.04, 0.16)


def mouth_opening(landmarks: np.ndarray) -> float:
    lm = np.asarray(landmarks, dtype=np.float64)
    width = float(np.linalg.norm(lm[CORNER_L, :2] - lm[CORNER_R, :2]))
    if width < 1e-6:
        return float("nan")
    return float(np.linalg.norm(lm[LIP_UP, :2] - lm[LIP_DOWN, :2]) / width)


def _bandpass(x: np.ndarray, lo: float, hi: float, fs: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfiltfilt

    sos = butter(order, [lo, hi], btype="band", fs=fs, output="sos")
    return sosfiltfilt(sos, x)


def lag_xcorr(mouth: np.ndarray, env: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """r(τ) for τ in [−max_lag, max_lag] ticks; τ > 0: ``env`` lags ``mouth``. Inputs z-scored,
    same length; each r is a Pearson correlation over the overlap."""
    n = len(mouth)
    lags = np.arange(-max_lag, max_lag + 1)
    r = np.empty(len(lags))
    for i, tau in enumerate(lags):
        if tau >= 0:
            a, b = mouth[:n - tau], env[tau:]
        else:
            a, b = mouth[-tau:], env[:n + tau]
        a = a - a.mean()
        b = b - b.mean()
        d = np.sqrt((a * a).sum() * (b * b).sum())
        r[i] = float((a * b).sum() / d) if d > 0 else 0.0
    return lags, r


@register
class LipSyncDetector(Detector):
    id = "lip_sync"
    version = "1"
    modality = "av"
    needs = frozenset({"face", "audio", "speech"})
    kind = "risk"
    description = ("Lip sync: the mouth opening (lip landmarks) is cross-correlated with the speech envelope; "
                   "flags a late voice, weak coupling, and speech while the lips are still.")

    def __init__(self, config: LipSyncConfig | None = None, *, store=None) -> None:
        self.config = config or LipSyncConfig()
        self._store = store
        self._stream = None
        import scipy.signal  # noqa: F401 - pay the import when the session is built, not mid-stream
        self.reset()

    def prepare(self) -> None:
        self._vad()

    def _vad(self):
        if self._stream is None:
            from interview_guard.perception.vad import SpeechStream

            self._stream = SpeechStream(keep_s=10.0, store=self._store)
        return self._stream

    def reset(self) -> None:
        if self._stream is not None:
            self._stream.reset()
        self._mouth_t: list[int] = []        # frame times with a usable face
        self._mouth_a: list[float] = []
        self._frame_t: list[int] = []        # all frame times (for face coverage / fps)
        self._env_t0: int | None = None      # time of the first envelope tick
        self._env: list[float] = []          # 100 Hz log-RMS envelope
        self._speech: list[bool] = []        # 100 Hz speech flags (from 32-ms VAD chunks)
        self._audio_end: int | None = None
        self._next_eval: int | None = None
        self._hist: list[dict] = []
        self._hist_still: list[float] = []   # stillness of the windows judged below min_fps
        self._bp = None
        self._rem = np.zeros(0)
        self._rem_flags = np.zeros(0, dtype=bool)

    # -- inputs -------------------------------------------------------------------------------
    def _on_observation(self, obs) -> None:
        t = obs.t_ns
        self._frame_t.append(t)
        f = obs.face
        if f is not None and f.size_px >= self.config.min_face_px:
            a = mouth_opening(f.landmarks)
            if np.isfinite(a):
                self._mouth_t.append(t)
                self._mouth_a.append(a)
        self._trim()

    def _on_audio(self, chunk) -> None:
        stream = self._vad()
        n = stream.push(chunk)
        if n == 0:
            return
        audio, flags, t0 = stream.last(n * CHUNK / RATE)
        if self._audio_end is None or abs(t0 - self._audio_end) > 50_000_000:
            # first audio, or a gap in time: restart the envelope at this block
            self._env_t0, self._env, self._speech = t0, [], []
            self._bp = None
            self._rem = np.zeros(0)
            self._rem_flags = np.zeros(0, dtype=bool)
        y = np.concatenate([self._rem, self._band(audio)])
        f = np.concatenate([self._rem_flags, np.repeat(flags, CHUNK)])
        nb = len(y) // BLOCK
        blocks = y[:nb * BLOCK].reshape(nb, BLOCK)
        rms = np.sqrt(np.mean(blocks ** 2, axis=1))
        self._env.extend(np.log(rms + 1e-5).tolist())
        self._speech.extend(f[:nb * BLOCK].reshape(nb, BLOCK).mean(axis=1) >= 0.5)
        self._rem, self._rem_flags = y[nb * BLOCK:], f[nb * BLOCK:]
        self._audio_end = t0 + n * CHUNK_NS
        self._trim()

    def _band(self, x: np.ndarray) -> np.ndarray:
        """150–4000 Hz band-pass, continuous across chunks (filter state kept)."""
        from scipy.signal import butter, sosfilt, sosfilt_zi

        if self._bp is None:
            sos = butter(2, [150.0, 4000.0], btype="band", fs=RATE, output="sos")
            self._bp = [sos, sosfilt_zi(sos) * 0.0]
        y, self._bp[1] = sosfilt(self._bp[0], x.astype(np.float64), zi=self._bp[1])
        return y

    def _trim(self) -> None:
        keep_ns = int((self.config.window_s + 2 * self.config.max_lag_s + 2.0) * NS_PER_S)
        latest = max(self._frame_t[-1] if self._frame_t else 0, self._audio_end or 0)
        lo = latest - keep_ns
        while self._frame_t and self._frame_t[0] < lo:
            self._frame_t.pop(0)
        while self._mouth_t and self._mouth_t[0] < lo:
            self._mouth_t.pop(0)
            self._mouth_a.pop(0)
        if self._env_t0 is not None and self._env:
            drop = int((lo - self._env_t0) // NS_PER_TICK)
            if drop > 0:
                del self._env[:drop], self._speech[:drop]
                self._env_t0 += drop * NS_PER_TICK

    # -- the step -----------------------------------------------------------------------------
    def process(self, window: Window) -> Evidence | None:
        if window.observation is not None:
            self._on_observation(window.observation)
        if window.audio is not None and len(window.audio.samples):
            self._on_audio(window.audio)
        if not self._frame_t or self._audio_end is None or self._env_t0 is None:
            return None
        c = self.config
        t_end = min(self._frame_t[-1], self._audio_end)
        t_start = t_end - int(c.window_s * NS_PER_S)
        if t_start < max(self._env_t0, self._frame_t[0]):
            return None
        if self._next_eval is not None and t_end < self._next_eval:
            return None
        self._next_eval = t_end + int(c.hop_s * NS_PER_S)
        return self._evaluate(t_start, t_end)

    def _evaluate(self, t_start: int, t_end: int) -> Evidence | None:
        c = self.config
        n = int(c.window_s * FPS)
        i0 = int((t_start - self._env_t0) // NS_PER_TICK)
        if i0 < 0 or i0 + n > len(self._env):
            return None
        env = np.array(self._env[i0:i0 + n])
        speech = np.array(self._speech[i0:i0 + n], dtype=bool)
        n_frames = sum(1 for t in self._frame_t if t_start <= t <= t_end)
        margin = NS_PER_S // 5
        sel = [(t, a) for t, a in zip(self._mouth_t, self._mouth_a) if t_start - margin <= t <= t_end + margin]
        mt = np.array([t for t, _ in sel], dtype=np.float64)
        ma = np.array([a for _, a in sel], dtype=np.float64)
        fps = n_frames / c.window_s
        face_frac = sum(1 for t in mt if t_start <= t <= t_end) / n_frames if n_frames else 0.0
        speech_frac = float(speech.mean())
        if speech_frac < c.min_speech_frac or fps < c.min_still_fps or face_frac < c.min_face_frac or len(mt) < 4:
            return None  # abstain: not enough speech, face or frame rate in this window
        low_fps = fps < c.min_fps
        grid = t_start + np.arange(n) * NS_PER_TICK
        mouth = np.interp(grid, mt, ma)
        # lips still while speaking: local std of the opening over speech blocks (0.5 s; 1 s when the
        # frames are too sparse for lag and coupling, so that a block still holds ≥ 4 mouth samples)
        blk = int(round((c.still_block_low_fps_s if low_fps else c.still_block_s) * FPS))
        still = []
        for k in range(0, n - blk + 1, blk):
            if speech[k:k + blk].mean() >= 0.5:
                still.append(float(np.std(mouth[k:k + blk])) < c.still_std)
        still_frac = float(np.mean(still)) if still else 0.0
        if low_fps:
            return self._decide_still_only(t_start, t_end, still_frac, len(still), speech_frac, fps)
        mb = np.gradient(_bandpass(mouth - mouth.mean(), c.band_hz[0], c.band_hz[1], FPS))
        eb = np.gradient(_bandpass(env - env.mean(), c.band_hz[0], c.band_hz[1], FPS))
        if np.std(mb) < 1e-6 or np.std(eb) < 1e-6:
            lags, r = np.arange(-50, 51), np.zeros(101)
        else:
            lags, r = lag_xcorr((mb - mb.mean()) / mb.std(), (eb - eb.mean()) / eb.std(), int(c.max_lag_s * FPS))
        k = int(np.argmax(r))
        r_max, tau = float(r[k]), float(lags[k]) / FPS
        conf = r_max - float(np.median(r))
        w = {"t": t_end, "r": r_max, "tau": tau, "c": conf, "still": still_frac, "curve": r}
        self._hist.append(w)
        self._hist = self._hist[-c.history:]
        return self._decide(t_start, t_end, w, speech_frac, fps, lags)

    def _decide_still_only(self, t_start: int, t_end: int, still_frac: float, n_blocks: int, speech_frac: float,
                           fps: float) -> Evidence | None:
        """Below ``min_fps`` (e.g. an offline analysis sampling 5 frames/s) the mouth is sampled too
        sparsely for the lag and the coupling (syllables come at ~4 Hz), but a mouth that does not
        move at all while speech is heard is still seen: only that is judged, over the same window
        history. No flag: no evidence (the lag and coupling were not judged, so nothing is cleared)."""
        c = self.config
        if n_blocks == 0:
            return None
        self._hist_still.append(still_frac)
        self._hist_still = self._hist_still[-c.history:]
        h = self._hist_still
        if len(h) < c.min_windows or float(np.mean([x >= c.still_frac for x in h])) < c.weak_frac:
            return None
        details = {"lips_still_fraction": round(still_frac, 2), "windows": len(h), "speech_fraction": round(speech_frac, 2),
                   "fps": round(fps, 1), "lag_judged": False}
        return Evidence(self.id, t_start, t_end, 2.0, 1.0, LIPS_STILL_REASON, kind=self.kind, code="lips_still",
                        details=details)

    def _decide(self, t_start: int, t_end: int, w: dict, speech_frac: float, fps: float,
                lags: np.ndarray) -> Evidence:
        """Aggregate the recent windows: the mean correlation curve gives the lag (robust to one
        window's peak jumping a syllable), the per-window peaks tell whether it is consistent."""
        c = self.config
        h = self._hist
        curve = np.mean([x["curve"] for x in h], axis=0)
        k = int(np.argmax(curve))
        agg_tau, agg_r = float(lags[k]) / FPS, float(curve[k])
        edge = abs(agg_tau) >= c.max_lag_s - 0.05
        agree = float(np.mean([abs(x["tau"] - agg_tau) <= 0.1 for x in h]))
        weak_w = float(np.mean([x["r"] < c.weak_r or abs(x["tau"]) >= c.max_lag_s - 0.05 for x in h]))
        still = float(np.mean([x["still"] >= c.still_frac for x in h]))
        details = {"lag_ms": round(w["tau"] * 1000), "r_max": round(w["r"], 3), "confidence": round(w["c"], 3),
                   "median_lag_ms": round(agg_tau * 1000), "r_agg": round(agg_r, 3),
                   "agreement": round(agree, 2), "windows": len(h), "weak_fraction": round(weak_w, 2),
                   "lips_still_fraction": round(float(w["still"]), 2), "speech_fraction": round(speech_frac, 2),
                   "fps": round(fps, 1)}
        enough = len(h) >= c.min_windows
        code, llr, reason = None, 0.0, ""
        if enough and still >= c.weak_frac:
            code, llr, reason = "lips_still", 2.0, LIPS_STILL_REASON
        elif enough and (agg_r < c.weak_agg_r or edge or weak_w >= c.weak_frac or agree < c.min_agreement):
            code, llr = "weak_coupling", 1.5
            reason = ("The lip movements and the voice do not move together (correlation "
                      f"{agg_r:.2f}): the audio may be dubbed or spoken by someone else. Ask the candidate to "
                      "answer on camera.")
        elif enough and agg_tau >= c.late_s:
            code, llr = "late_voice", 2.0
            reason = (f"The voice consistently arrives about {agg_tau * 1000:.0f} ms after the lip movements, as "
                      "happens when speech passes through a real-time voice changer. A laggy connection can also do "
                      "this; ask the candidate to say a few quick words like 'papa baba mama'.")
        if code is not None:
            return Evidence(self.id, t_start, t_end, llr, 1.0, reason, kind=self.kind, code=code, details=details)
        w = {"tau": agg_tau, "r": agg_r}
        lo, hi = c.natural_lag_s
        if w["r"] >= 0.25 and lo <= w["tau"] <= hi:
            llr = -0.5
            reason = f"The lips move with the voice (lag {w['tau'] * 1000:+.0f} ms, correlation {w['r']:.2f})."
            code = "in_sync"
        else:
            llr = 0.0
            reason = (f"Lip movements and voice are only loosely aligned in this stretch (lag {w['tau'] * 1000:+.0f} "
                      f"ms, correlation {w['r']:.2f}); watching.")
            code = "sync_unclear"
        quality = float(np.clip(min(speech_frac / 0.6, 1.0) * min(len(h) / c.min_windows, 1.0), 0.1, 1.0))
        return Evidence(self.id, t_start, t_end, llr, quality, reason, kind=self.kind, code=code, details=details)

"""Synthetic or converted voice: the project's countermeasure model on the candidate's speech.

Only speech is judged: Silero VAD (``perception.vad``) gates the audio, speech chunks are
concatenated, and once 2 s of speech exist the last 4 s of it are scored by ``voice_cm.onnx``
(per-band spectral-flatness statistics → logistic regression, ``perception.voice_cm``), then
again after every further 1 s of speech.
Silence, music and noise give no evidence at all (the detector abstains); so does audio too
quiet or clipped to judge, and speech that reaches us through a band-limited channel: the
model reads the 6–8 kHz band, and genuine speech without it scores as synthetic (measured on
genuine corpus files: LLR > 1 for 58 % after a 5.5-kHz low-pass, 92 % after a 7-kHz low-pass,
98 % after an MP3 32 kbps round trip, 0 % clean, 2 % after Opus 24 kbps). ``band_limits`` gives
two levels from the window's Welch spectrum: ``band_drop_db`` = the 0.3–3 kHz speech band minus
the 6.5–7.8 kHz band (genuine wideband speech p95 29 dB; narrowband or ≤ 5.5-kHz low-pass ≥ 30,
median 51) and ``top_cut_db`` = 6–6.8 kHz minus 7.2–7.9 kHz (genuine speech p95 9 dB, after Opus
24 kbps 15; 7-kHz low-pass median 38, MP3 32 kbps median 34). Above ``max_band_drop_db`` (38) or
``max_top_cut_db`` (20) the detector abstains and says the line is band-limited. Measured on the
corpus (files' first 4 s of speech): genuine clean speech 4 % abstained, genuine after MP3 or a
7-kHz low-pass ~90 %; the remaining ~10 % of those still score high (a known weakness).

The model's logit becomes an LLR with the calibration in its manifest row (fitted on held-out
systems and speakers), clipped to [llr_min, 2.3] nats. Measured leave-one-system-out (see the
manifest row's ``quality``) it is well above chance but far from reliable on unseen systems
(EER ~20 % for voice conversion, ~8 % for cloned TTS on clean audio; 15 % / 27 % after Opus
24 kbps; ~31 % through codecs it never trained on). The recipe raises ``llr_min`` to 0 whenever a
family's held-out AUC falls below 0.6. Call codecs, noise suppression and headsets also change a
voice, so reasons never say "fake": they say what the model heard and what the interviewer can do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.detectors.contract import Detector, Window
from interview_guard.detectors.registry import register
from interview_guard.perception.vad import CHUNK, CHUNK_NS, RATE


@dataclass(frozen=True)
class VoiceSyntheticConfig:
    window_s: float = 4.0        # speech judged at once (the model's training windows)
    min_speech_s: float = 2.0    # first judgement after this much speech
    hop_s: float = 1.0           # then after every further hop_s of speech
    min_rms_dbfs: float = -55.0  # quieter speech windows are not judged
    max_clipped: float = 0.02    # fraction of samples at full scale above which we abstain
    max_band_drop_db: float = 38.0  # 0.3–3 kHz level minus 6.5–7.8 kHz level above which the line is narrow-band
    max_top_cut_db: float = 20.0    # 6–6.8 kHz level minus 7.2–7.9 kHz level above which the top band is cut off
    strong_llr: float = 1.0      # reason wording thresholds
    mild_llr: float = 0.3

    def line_limit(self, band_drop_db: float, top_cut_db: float) -> str | None:
        """"narrow_band" or "top_cut" when the line is too band-limited to judge (see ``band_limits``),
        else None."""
        if band_drop_db > self.max_band_drop_db:
            return "narrow_band"
        if top_cut_db > self.max_top_cut_db:
            return "top_cut"
        return None


@register
class VoiceSyntheticDetector(Detector):
    id = "voice_synthetic"
    version = "2"
    corpus_trained = True       # voice_cm.onnx trained on the corpus speech (fusion slope capped at 1)
    modality = "audio"
    needs = frozenset({"audio", "speech"})
    kind = "risk"
    description = ("Synthetic or converted voice: the project's countermeasure model (spectral-flatness statistics) "
                   "scores the candidate's speech (VAD-gated, 4-s windows).")

    def __init__(self, config: VoiceSyntheticConfig | None = None, *, store=None) -> None:
        self.config = config or VoiceSyntheticConfig()
        self._store = store
        self._stream = None
        self._cm = None
        self.reset()

    def prepare(self) -> None:
        import scipy.signal  # noqa: F401 - band_limits' import is paid when the session is built

        self._models()

    def _models(self):
        if self._stream is None:
            from interview_guard.perception.vad import SpeechStream
            from interview_guard.perception.voice_cm import VoiceCM

            self._stream = SpeechStream(keep_s=10.0, store=self._store)
            self._cm = VoiceCM(self._store)
        return self._stream, self._cm

    def reset(self) -> None:
        if self._stream is not None:
            self._stream.reset()
        self._speech: list[np.ndarray] = []     # speech-only VAD chunks (newest last)
        self._times: list[int] = []             # t_ns of each chunk's first sample
        self._since_judged = 0                   # speech chunks since the last judgement
        self._judged_once = False

    def process(self, window: Window) -> Evidence | None:
        chunk = window.audio
        if chunk is None or len(chunk.samples) == 0:
            return None
        stream, cm = self._models()
        n = stream.push(chunk)
        if n == 0:
            return None
        c = self.config
        audio, flags, t0 = stream.last(n * CHUNK / RATE)
        keep = int(round(c.window_s * RATE / CHUNK))
        for i in np.flatnonzero(flags):
            self._speech.append(audio[i * CHUNK:(i + 1) * CHUNK])
            self._times.append(t0 + int(i) * CHUNK_NS)
            self._since_judged += 1
        if len(self._speech) > keep:
            del self._speech[:-keep], self._times[:-keep]
        need_first = int(np.ceil(c.min_speech_s * RATE / CHUNK))
        need_hop = int(np.ceil(c.hop_s * RATE / CHUNK))
        if not self._judged_once:
            if len(self._speech) < need_first:
                return None
        elif self._since_judged < need_hop:
            return None
        self._judged_once = True
        self._since_judged = 0
        speech = np.concatenate(self._speech)
        t_start, t_end = self._times[0], self._times[-1] + CHUNK_NS
        t_end = min(t_end, window.t_ns)
        seconds = len(speech) / RATE
        rms = float(np.sqrt(np.mean(speech.astype(np.float64) ** 2)) + 1e-12)
        dbfs = 20 * np.log10(rms)
        clipped = float(np.mean(np.abs(speech) >= 0.999))
        drop, top_cut = band_limits(speech)
        details = {"speech_s": round(seconds, 2), "level_dbfs": round(dbfs, 1), "clipped": round(clipped, 4),
                   "band_drop_db": round(drop, 1), "top_cut_db": round(top_cut, 1)}
        if dbfs < c.min_rms_dbfs or clipped > c.max_clipped:
            why = "too quiet" if dbfs < c.min_rms_dbfs else "distorted (clipped)"
            return Evidence(self.id, t_start, t_end, 0.0, 0.0,
                            f"The candidate's speech is {why}, so the voice check is paused for this stretch.",
                            kind=self.kind, code="voice_unusable", details=details)
        limit = c.line_limit(drop, top_cut)
        if limit is not None:
            what = ("a narrow-band line (no high frequencies, as with a Bluetooth headset in hands-free mode or a "
                    "phone bridge)" if limit == "narrow_band" else
                    "a line that cuts the top of the voice's frequencies (as some conference bridges and "
                    "recordings compressed to MP3 do)")
            return Evidence(self.id, t_start, t_end, 0.0, 0.0,
                            f"The candidate's sound comes through {what}, so the synthetic-voice check cannot "
                            "judge it and is paused. A wired or USB headset on a normal call makes it possible.",
                            kind=self.kind, code="voice_band_limited", details=details)
        logit = cm.score(speech)
        llr = cm.llr(logit)
        quality = float(np.clip(seconds / c.window_s, 0.0, 1.0))
        details.update(logit=round(logit, 3))
        if llr >= c.strong_llr:
            code = "voice_synthetic"
            reason = ("The voice has traits of synthetic or converted speech (voice-model LLR "
                      f"{llr:+.1f} over the last {seconds:.0f} s of speech). Heavy noise suppression or a poor "
                      "line can do this too: ask the candidate to switch off voice effects, or verify by phone.")
        elif llr >= c.mild_llr:
            code = "voice_slightly_synthetic"
            reason = (f"The voice shows slight traits of synthetic or converted speech (LLR {llr:+.1f}); "
                      "not conclusive on its own.")
        else:
            code = "voice_no_sign"
            reason = (f"The voice model found no clear sign of synthetic speech here (LLR {llr:+.1f}); it cannot "
                      "rule out modern voice conversion on its own.")
        return Evidence(self.id, t_start, t_end, llr, quality, reason, kind=self.kind, code=code, details=details)

    @property
    def speech_seconds(self) -> float:
        return 0.0 if self._stream is None else self._stream.total_speech_s


_SPEECH_BAND_HZ = (300.0, 3000.0)
_HIGH_BAND_HZ = (6500.0, 7800.0)
_TOP_LOW_HZ = (6000.0, 6800.0)
_TOP_HIGH_HZ = (7200.0, 7900.0)


def band_limits(speech: np.ndarray, rate: int = RATE) -> tuple[float, float]:
    """(band_drop_db, top_cut_db) of ``speech`` (n,) float32 at 16 kHz, from its Welch spectrum
    in dB: the speech band (0.3–3 kHz, median) minus the 6.5–7.8 kHz band (mean), ~5–30 dB for
    wideband speech; and 6–6.8 kHz minus 7.2–7.9 kHz (means), a few dB unless the channel cuts
    the top of the band (a 7-kHz low-pass, MP3)."""
    from scipy.signal import welch

    f, p = welch(np.asarray(speech, np.float64), rate, nperseg=512)
    db = 10.0 * np.log10(p + 1e-12)

    def level(lo: float, hi: float, stat=np.mean) -> float:
        return float(stat(db[(f >= lo) & (f <= hi)]))

    drop = level(*_SPEECH_BAND_HZ, stat=np.median) - level(*_HIGH_BAND_HZ)
    top_cut = level(*_TOP_LOW_HZ) - level(*_TOP_HIGH_HZ)
    return drop, top_cut

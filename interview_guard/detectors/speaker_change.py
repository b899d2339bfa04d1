"""Speaker change: does the voice still belong to the person heard at the start of the call?

Speech only (Silero VAD). Every 1.6 s of speech becomes one *partial* embedding (GE2E encoder,
``perception.speaker``); a *segment* is the mean of the last 3 partials (≈ 4.8 s of speech).

* **Enrolment** ("the candidate's voice"): the first 3 partials give a centroid; during the
  first ``enrol_s`` (60 s) of speech every further partial whose segment still matches is added
  to it. A segment that does not match is never enrolled, so a change within the first minute is
  caught too.
* **Changed voice**: ≥ 3 of the last 4 segments score below ``match_cos`` against the enrolled
  voice → flagged (code ``voice_changed``); a second voice centroid is started from them.
* **Two voices alternating**: after a change, segments that match the enrolled voice again and
  then the second voice again (A → B → A → B), each side holding ≥ ``alt_min_s`` of speech →
  flagged (code ``two_voices``).

Evidence comes after every partial once enrolled (LLR from the segment's cosine similarity,
flagged states carry LLR 2.0). Thresholds from the corpus' single-speaker Tortoise reference
voices (19 speakers, two recordings each; enrolment = first 3 partials): same-speaker segments
scored ≥ 0.716 (1st percentile 0.735), other speakers' segments ≤ 0.81 (95th percentile 0.673,
2.6 % ≥ 0.70); single partials: same ≥ 0.59 (5th pct 0.71), other speakers 95th pct 0.63. A voice changer keeps its *target*
voice constant, so this detector is about proxies and hand-overs, not voice conversion.

Known limits (plain in the reasons): a different microphone or headset also moves the voice,
and the interviewer's own voice leaking into the call audio (echo) looks like a second voice.
Follow-up (not done here): subtract the interviewer's microphone channel (VAD on the mic, drop
remote speech that coincides with local speech) before enrolment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interview_guard.core.types import Evidence
from interview_guard.detectors.contract import Detector, Window
from interview_guard.detectors.registry import register
from interview_guard.perception.vad import CHUNK, CHUNK_NS, RATE


@dataclass(frozen=True)
class SpeakerChangeConfig:
    partial_s: float = 1.6          # speech per partial embedding (the encoder's partial length)
    segment_partials: int = 3       # partials per segment (~4.8 s of speech)
    enrol_partials: int = 3         # partials before a first centroid exists
    enrol_s: float = 60.0           # keep enrolling matching speech for this long
    match_cos: float = 0.70         # a segment below this no longer matches the enrolled voice
    partial_cos: float = 0.63       # one partial at/above this counts as the enrolled voice (turns, enrolment)
    window: int = 4                 # decision over the last `window` segments ...
    need: int = 3                   # ... of which `need` must mismatch
    alt_min_s: float = 4.8          # each voice must hold this much speech to count as a turn
    llr_slope: float = 15.0         # per-segment llr = slope * (mid - cos), clipped to [-1, 1.5]
    llr_mid: float = 0.72
    flag_llr: float = 2.0


@register
class SpeakerChangeDetector(Detector):
    id = "speaker_change"
    version = "1"
    modality = "audio"
    needs = frozenset({"audio", "speech"})
    kind = "risk"
    description = ("Speaker change: the candidate's voice is enrolled during the first minute of speech and later "
                   "speech is compared with it (GE2E speaker embeddings).")

    def __init__(self, config: SpeakerChangeConfig | None = None, *, store=None) -> None:
        self.config = config or SpeakerChangeConfig()
        self._store = store
        self._stream = None
        self._enc = None
        self.reset()

    def prepare(self) -> None:
        self._models()

    def _models(self):
        if self._stream is None:
            from interview_guard.perception.speaker import SpeakerEncoder, mel_basis
            from interview_guard.perception.vad import SpeechStream

            self._stream = SpeechStream(keep_s=10.0, store=self._store)
            self._enc = SpeakerEncoder(self._store)
            mel_basis()  # build the filterbank now, not in the middle of the first partial
        return self._stream, self._enc

    def reset(self) -> None:
        if self._stream is not None:
            self._stream.reset()
        self._pending: list[np.ndarray] = []    # speech VAD chunks not yet embedded
        self._pending_t: list[int] = []
        self._partials: list[np.ndarray] = []   # embeddings (256,)
        self._partial_t: list[tuple[int, int]] = []
        self._enrolled: list[np.ndarray] = []
        self._enrolled_s = 0.0
        self._mismatch: list[bool] = []         # per segment since enrolment
        self._state = "enrolling"               # enrolling | same | changed
        self._second: list[np.ndarray] = []     # partials of the other voice
        self._turns: list[tuple[str, float]] = []   # (voice "A"/"B", speech seconds) runs after a change
        self._flags_reported: set[str] = set()

    # ------------------------------------------------------------------------------------------
    def process(self, window: Window) -> Evidence | None:
        chunk = window.audio
        if chunk is None or len(chunk.samples) == 0:
            return None
        stream, enc = self._models()
        n = stream.push(chunk)
        if n == 0:
            return None
        audio, flags, t0 = stream.last(n * CHUNK / RATE)
        per_partial = int(round(self.config.partial_s * RATE / CHUNK))
        out: Evidence | None = None
        for i in np.flatnonzero(flags):
            self._pending.append(audio[i * CHUNK:(i + 1) * CHUNK])
            self._pending_t.append(t0 + int(i) * CHUNK_NS)
            if len(self._pending) >= per_partial:
                samples = np.concatenate(self._pending)
                span = (self._pending_t[0], min(self._pending_t[-1] + CHUNK_NS, window.t_ns))
                self._pending.clear()
                self._pending_t.clear()
                ev = self._on_partial(enc.embed_partial(samples), span)
                if ev is not None and (out is None or ev.llr >= out.llr):
                    out = ev
        return out

    # ------------------------------------------------------------------------------------------
    def _centroid(self, embs: list[np.ndarray]) -> np.ndarray:
        m = np.mean(embs, axis=0)
        return m / max(float(np.linalg.norm(m)), 1e-12)

    def _on_partial(self, e: np.ndarray, span: tuple[int, int]) -> Evidence | None:
        c = self.config
        self._partials.append(e)
        self._partial_t.append(span)
        if len(self._partials) < c.enrol_partials:
            return None
        if not self._enrolled:
            self._enrolled = list(self._partials)
            self._enrolled_s = len(self._enrolled) * c.partial_s
            self._state = "same"
            return None
        seg = self._centroid(self._partials[-c.segment_partials:])
        ref = self._centroid(self._enrolled)
        cos = float(seg @ ref)
        cos_partial = float(e @ ref)
        mismatch = cos < c.match_cos
        self._mismatch.append(mismatch)
        if not mismatch and self._enrolled_s < c.enrol_s and self._state == "same" and cos_partial >= c.partial_cos:
            self._enrolled.append(e)
            self._enrolled_s += c.partial_s
        recent = self._mismatch[-c.window:]
        t_start = self._partial_t[max(0, len(self._partial_t) - c.segment_partials)][0]
        t_end = span[1]
        details = {"cos_enrolled": round(cos, 3), "cos_partial": round(cos_partial, 3),
                   "enrolled_speech_s": round(self._enrolled_s, 1),
                   "mismatched_recent": int(sum(recent))}
        # turn bookkeeping once a second voice exists
        if self._state == "changed":
            voice = "A" if cos_partial >= c.partial_cos else "B"
            if voice == "B":
                self._second.append(e)
            if self._turns and self._turns[-1][0] == voice:
                self._turns[-1] = (voice, self._turns[-1][1] + c.partial_s)
            else:
                self._turns.append((voice, c.partial_s))
            solid = [v for v, s in self._turns if s >= c.alt_min_s]
            switches = sum(1 for a, b in zip(solid, solid[1:]) if a != b)
            details["voice_turns"] = int(switches)
            if switches >= 2 and "two_voices" not in self._flags_reported:
                self._flags_reported.add("two_voices")
                return Evidence(self.id, t_start, t_end, c.flag_llr, 1.0,
                                "Two different voices take turns in the candidate's audio (the enrolled voice came "
                                "back after another one). Ask who else is in the room, or whether someone is "
                                "answering for the candidate.", kind=self.kind, code="two_voices", details=details)
        if self._state == "same" and len(recent) >= c.need and sum(recent) >= c.need:
            self._state = "changed"
            self._second = list(self._partials[-c.segment_partials:])
            self._turns = [("A", 0.0), ("B", c.segment_partials * c.partial_s)]
            return Evidence(self.id, t_start, t_end, c.flag_llr, 1.0,
                            f"The voice no longer matches the candidate's voice from the start of the call "
                            f"(similarity {cos:.2f}, below {c.match_cos:.2f}). Someone else may be answering; a "
                            "new microphone or headset can also do this, so ask the candidate about it.",
                            kind=self.kind, code="voice_changed", details=details)
        llr = float(np.clip(c.llr_slope * (c.llr_mid - cos), -1.0, 1.5))
        quality = float(np.clip(self._enrolled_s / 15.0, 0.3, 1.0))
        if self._state == "changed":
            code = "voice_differs" if cos_partial < c.partial_cos else "voice_matches_again"
            reason = ("The voice still differs from the candidate's enrolled voice (similarity "
                      f"{cos:.2f})." if code == "voice_differs" else
                      f"The enrolled voice is speaking again (similarity {cos:.2f}).")
        elif mismatch:
            code = "voice_drifting"
            reason = (f"This stretch of speech matches the candidate's enrolled voice poorly (similarity {cos:.2f}); "
                      "watching whether it continues.")
        else:
            code = "voice_consistent"
            reason = f"The voice matches the candidate's enrolled voice (similarity {cos:.2f})."
        return Evidence(self.id, t_start, t_end, llr, quality, reason, kind=self.kind, code=code, details=details)

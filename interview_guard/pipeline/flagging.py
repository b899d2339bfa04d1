"""Wire a ``SegmentRecorder`` to a live session (no Qt): the recorder gets every captured frame,
the session's evidence and cues, and is triggered when

* the level turns amber or red (an escalation cue),
* a challenge runs (evidence from a detector whose id starts with ``challenge_``),
* the interviewer presses Flag (``FlagRecording.flag()``, from the UI thread).

``FlagRecording.open(session, ...)`` returns the handle the UI keeps; ``close()`` saves an open
segment and stops the recorder threads.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from interview_guard import __version__
from interview_guard.fusion.cues import Level
from interview_guard.recording.recorder import RecorderConfig, SegmentRecorder
from interview_guard.recording.store import SegmentStore


def versions_meta(analyzer=None) -> dict:
    """App, detector and model versions (sha256 from the model manifest) for sidecars."""
    meta: dict = {"app_version": __version__}
    try:
        from interview_guard.perception.model_store import ModelStore

        store = ModelStore()
        meta["models"] = {mid: {"file": r.file, "sha256": r.sha256} for mid, r in sorted(store.rows.items())}
    except Exception:  # noqa: BLE001 - a missing manifest must not block recording
        meta["models"] = {}
    dets = getattr(analyzer, "detectors", None) or []
    meta["detectors"] = {d.id: str(d.version) for d in dets}
    fusion = getattr(analyzer, "fusion", None)
    if fusion is not None:
        meta["calibration"] = {"file": fusion.calibration.path,
                               "fitted_at": fusion.calibration.meta.get("fitted_at", "")}
    return meta


@dataclass
class FlagRecording:
    recorder: SegmentRecorder
    store: SegmentStore

    @classmethod
    def open(cls, session, *, store: SegmentStore | None = None, root: str | Path | None = None,
             config: RecorderConfig | None = None) -> "FlagRecording":
        store = store or SegmentStore(root)
        rec = SegmentRecorder(store, config, meta={}, wall_start_unix=time.time())
        rec.start()
        fr = cls(rec, store)
        fr._session = session
        session.frame_taps.append(rec.push_video)
        if hasattr(session, "audio_taps"):           # the call audio goes into the segments too
            session.audio_taps.append(rec.push_audio)
        session.result_taps.append(fr._on_result)
        return fr

    def _on_result(self, r) -> None:
        rec = self.recorder
        if not rec.meta:     # on the worker thread, once the session's analyzer exists
            rec.meta.update(versions_meta(getattr(getattr(self, "_session", None), "analyzer", None)))
        if r.evidence:
            rec.push_evidence(r.evidence)
        if r.cues:
            rec.push_cues(r.cues)
        for c in r.cues:
            if c.level in (Level.AMBER, Level.RED) and c.escalation:
                why = c.reasons[0] if c.reasons else ""
                rec.trigger(c.level.value, c.t_ns, f"{c.headline}: {why}" if why else c.headline, level=c.level.value)
        for e in r.evidence:
            if e.detector.startswith("challenge_"):
                rec.trigger("challenge", e.t_end_ns, e.reason, start_ns=e.t_start_ns)

    def flag(self, reason: str = "The interviewer pressed Flag.") -> None:
        self.recorder.trigger("flag", None, reason)

    @property
    def recording(self) -> bool:
        return self.recorder.recording

    def close(self, timeout: float = 10.0) -> None:
        self.recorder.stop(timeout)

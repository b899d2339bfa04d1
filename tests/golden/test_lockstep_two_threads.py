"""The offline analysis uses a second core (video decoded ahead, audio-only detectors run ahead on
their own thread) and still gives exactly what a one-thread run gives: same evidence, same order,
same cues."""

from __future__ import annotations

import json

import pytest

from interview_guard.pipeline import lockstep
from interview_guard.pipeline.analyzer import Analyzer
from interview_guard.pipeline.lockstep import analyze_file

pytestmark = [pytest.mark.corpus]

CLIP = "video_fake_reenact/vexpress_emo_emotion.mp4"      # 4.6 s, face + speech


def _run(path, out, monkeypatch, *, one_thread: bool):
    with monkeypatch.context() as m:
        if one_thread:
            m.setattr(Analyzer, "audio_only_detectors", property(lambda self: []))
            m.setattr(lockstep, "_read_ahead", lambda source, depth=4: iter(source))
        res = analyze_file(path, out)
    threads = [json.loads(x) for x in (out / "evidence.jsonl").read_text().splitlines()]
    return res, threads


def test_two_threads_match_one_thread(corpus, tmp_path, monkeypatch):
    path = corpus(CLIP)
    r1, e1 = _run(path, tmp_path / "one", monkeypatch, one_thread=True)
    r2, e2 = _run(path, tmp_path / "two", monkeypatch, one_thread=False)
    audio = {e["detector"] for e in e2} & {"voice_synthetic", "speaker_change", "lip_sync"}
    assert audio, "the clip's speech produced no audio evidence: the comparison would prove nothing"
    assert e1 == e2
    assert [c.to_json() for c in r1.cues] == [c.to_json() for c in r2.cues]
    for k in ("frames_analysed", "frames_with_face", "max_level", "risk_events", "quality_events"):
        assert r1.summary[k] == r2.summary[k], k

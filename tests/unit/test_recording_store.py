"""Flagged segments on disk: one mp4 (H.264 + AAC) + sidecar, the SQLite index, recovery after a
crash at every step of the write protocol, retention, export, delete; and the recorder's
pre-roll / post-roll / trigger merging."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from interview_guard.core.types import Evidence
from interview_guard.recording.index import SegmentIndex
from interview_guard.recording.recorder import RecorderConfig, SegmentRecorder
from interview_guard.recording.store import PARTIAL, RecordingError, SegmentStore, sha256_file

from .recording_helpers import audio, decode_all, frame, make_job


def test_segment_is_one_mp4_with_video_and_audio_plus_sidecar(tmp_path):
    st = SegmentStore(tmp_path / "rec")
    row = st.write_segment(make_job(3.0))
    assert [r.id for r in st.list()] == [row.id]
    mp4 = st.media_path(row)
    n, codecs = decode_all(mp4)
    assert codecs == ["h264", "aac"] and n == 45
    side = st.sidecar(row)
    assert side["sha256"] == sha256_file(mp4) == row.sha256
    assert side["bytes"] == mp4.stat().st_size
    assert side["app_version"] and side["models"]["face_landmarker"]["sha256"]
    assert side["detectors"] == {"seam_band": "1"}
    assert side["evidence"][0]["detector"] == "seam_band" and side["reasons"][0] == "The interviewer pressed Flag."
    assert side["level"] == "amber" and side["audio"]["source"] == "captured"
    assert side["video"]["codec"] == "h264"
    assert not any((tmp_path / "rec" / PARTIAL).iterdir())
    assert row.trigger == "flag" and row.t_start_s == 0.0 and row.t_end_s == pytest.approx(2.933, abs=0.01)


def test_silent_track_when_no_audio_was_captured(tmp_path):
    st = SegmentStore(tmp_path)
    row = st.write_segment(make_job(2.0, with_audio=False))
    _, codecs = decode_all(st.media_path(row))
    assert codecs == ["h264", "aac"]
    assert st.sidecar(row)["audio"]["source"].startswith("none captured")


def test_index_delete_export_and_retention(tmp_path):
    st = SegmentStore(tmp_path / "rec")
    a = st.write_segment(make_job(1.0))
    b = st.write_segment(make_job(1.0, start_s=10.0))
    assert len(st.list()) == 2
    out = st.export(a.id, tmp_path / "exported")
    assert [p.name for p in out] == [a.file, a.sidecar]
    assert sha256_file(out[0]) == a.sha256
    st.delete(a.id)
    assert [r.id for r in st.list()] == [b.id]
    assert not (tmp_path / "rec" / a.file).exists()
    # retention: nothing is older than 1 day now; 2 days from now, b is
    assert st.purge_older_than(1) == []
    assert st.purge_older_than(1, now=time.time() + 2 * 86400) == [b.id]
    assert st.list() == []
    assert st.purge_older_than(0, now=time.time() + 1e9) == []      # 0 = keep forever


def test_recovery_after_a_crash_at_each_step(tmp_path):
    root = tmp_path / "rec"
    st = SegmentStore(root)
    good = st.write_segment(make_job(1.0))
    # (1) killed while writing: a half file in .partial
    (root / PARTIAL / "x.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 truncated")
    # (2) killed between the two renames: a complete mp4, no sidecar
    j = st.write_segment(make_job(1.0, start_s=5.0))
    os.replace(root / j.sidecar, tmp_path / "moved.json")
    st.index.remove(j.id)
    # (3) killed after both renames, before the index row: complete pair, not indexed
    k = st.write_segment(make_job(1.0, start_s=9.0))
    st.index.remove(k.id)
    # (4) a pair whose media does not match its sha256 (tampered): dropped
    t = st.write_segment(make_job(1.0, start_s=13.0))
    st.index.remove(t.id)
    with open(root / t.file, "r+b") as f:
        f.seek(100)
        f.write(b"garbage")
    again = SegmentStore(root)            # recovery runs on open
    ids = [r.id for r in again.list()]
    assert ids == [good.id, k.id]
    assert not (root / j.file).exists() and not (root / t.file).exists()
    assert not any((root / PARTIAL).iterdir())
    for r in again.list():
        assert again.verify(r)
        decode_all(again.media_path(r))


def test_index_survives_reopen(tmp_path):
    idx_path = tmp_path / "i.sqlite3"
    st = SegmentStore(tmp_path)
    r = st.write_segment(make_job(1.0))
    assert SegmentIndex(tmp_path / "index.sqlite3").get(r.id).sha256 == r.sha256
    assert not idx_path.exists()


def test_write_error_is_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    st = SegmentStore(tmp_path)
    import interview_guard.recording.store as store_mod

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_mod, "write_mp4", boom)
    with pytest.raises(RecordingError, match="disk holding .* is full"):
        st.write_segment(make_job(1.0))
    assert st.list() == [] and not any((tmp_path / PARTIAL).iterdir())
    assert not list(tmp_path.glob("*.mp4"))


# -- the recorder -------------------------------------------------------------------------------------

def _feed(rec: SegmentRecorder, t0_s: float, t1_s: float, fps: float = 15.0, *, on=None, pace: float = 0.0):
    i = int(t0_s * fps)
    while i < int(t1_s * fps):
        f = frame(i, fps)
        rec.push_video(f)
        if i % 2 == 0:
            rec.push_audio(audio(i / fps, 2 / fps))
        if on:
            on(i / fps)
        i += 1
        time.sleep(pace or 0.004)


def test_recorder_preroll_postroll_and_merged_triggers(tmp_path):
    st = SegmentStore(tmp_path)
    rec = SegmentRecorder(st, RecorderConfig(preroll_s=3, postroll_s=2, max_fps=15)).start()
    fired = set()

    def on(t):
        if t >= 8.0 and "a" not in fired:
            fired.add("a")
            rec.trigger("amber", int(8.0e9), "Worth a check: a seam.", level="amber")
        if t >= 9.0 and "f" not in fired:
            fired.add("f")
            rec.trigger("flag", int(9.0e9), "The interviewer pressed Flag.")
            assert rec.recording

    _feed(rec, 0, 20, on=on)
    deadline = time.time() + 20
    while not rec.segments and time.time() < deadline:
        time.sleep(0.05)
    rec.stop()
    assert rec.errors == []
    rows = st.list()
    assert len(rows) == 1, rows                 # overlapping triggers: ONE segment
    r = rows[0]
    assert r.trigger == "amber,flag" and r.level == "amber"
    assert 4.0 <= r.t_start_s <= 5.0            # keyframe at or before 8 - 3 s
    assert 10.9 <= r.t_end_s <= 11.1            # 9 s + 2 s post-roll
    n, codecs = decode_all(st.media_path(r))
    assert codecs == ["h264", "aac"] and n >= 0.9 * 15 * (r.t_end_s - r.t_start_s)
    side = st.sidecar(r)
    assert {t["kind"] for t in side["triggers"]} == {"amber", "flag"}
    assert side["audio"]["source"] == "captured"
    assert not rec.recording


def test_stop_saves_an_open_segment_and_evidence_goes_into_the_sidecar(tmp_path):
    st = SegmentStore(tmp_path)
    rec = SegmentRecorder(st, RecorderConfig(preroll_s=2, postroll_s=30, max_fps=15)).start()
    rec.push_evidence([Evidence("seam_band", int(3e9), int(4.5e9), 1.5, 0.9, "A seam was seen.")])
    _feed(rec, 0, 5, on=lambda t: rec.trigger("challenge", int(4.5e9), "Hand wave check ran.",
                                             start_ns=int(1e9)) if abs(t - 4.6) < 0.03 else None)
    rec.stop()
    rows = st.list()
    assert len(rows) == 1 and rows[0].trigger == "challenge"
    assert rows[0].t_start_s == 0.0                    # the challenge's own start (1 s) minus 2 s, clamped
    side = st.sidecar(rows[0])
    assert [e["detector"] for e in side["evidence"]] == ["seam_band"]


def test_recorder_reports_a_trigger_before_any_video(tmp_path):
    st = SegmentStore(tmp_path)
    rec = SegmentRecorder(st, RecorderConfig(preroll_s=1, postroll_s=0.1)).start()
    rec.trigger("flag")
    rec.stop()
    assert st.list() == []
    assert rec.last_error and "no video" in rec.last_error

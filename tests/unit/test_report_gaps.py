"""The offline report says when lip-sync could not be checked because too few frames were analysed."""

from __future__ import annotations

from interview_guard.core.types import NS_PER_S, Evidence
from interview_guard.reports.html import lip_sync_unchecked

MODS = {"lip_sync": "av", "voice_synthetic": "audio", "face_swap_cnn": "video"}


def _ev(det: str, t: float, quality: float = 1.0, details: dict | None = None) -> Evidence:
    return Evidence(detector=det, t_start_ns=int((t - 1) * NS_PER_S), t_end_ns=int(t * NS_PER_S), llr=0.1,
                    quality=quality, reason="r", details=details or {})


def _summary(fps: float, duration: float = 60.0) -> dict:
    return {"duration_s": duration, "frames_analysed": int(fps * duration)}


def test_speech_analysed_at_5_fps_says_lip_sync_was_not_checked_and_how_to_fix_it():
    ev = [_ev("voice_synthetic", 10), _ev("face_swap_cnn", 10)]
    gap = lip_sync_unchecked(_summary(5), ev, MODS)
    assert gap is not None and gap["what"] == "lip_sync" and gap["code"] == "frame_rate_low"
    assert "5 frames per second" in gap["text"] and "--sample-fps 15" in gap["text"]


def test_no_note_when_lip_sync_judged_or_could_not_have():
    speech = [_ev("voice_synthetic", 10)]
    assert lip_sync_unchecked(_summary(15), speech, MODS) is None                       # enough frames
    assert lip_sync_unchecked(_summary(5), speech + [_ev("lip_sync", 12)], MODS) is None  # it judged
    assert lip_sync_unchecked(_summary(5), [_ev("voice_synthetic", 10, quality=0.0)], MODS) is None  # no speech
    assert lip_sync_unchecked(_summary(5), speech, {"voice_synthetic": "audio"}) is None  # check not run


def test_still_lips_flag_at_5_fps_still_says_the_timing_was_not_checked():
    # below 12 frames/s lip-sync only looks for lips that stay still while speech is heard: such a
    # flag does not mean the voice's timing was checked
    ev = [_ev("voice_synthetic", 10), _ev("lip_sync", 12, details={"lag_judged": False})]
    gap = lip_sync_unchecked(_summary(5), ev, MODS)
    assert gap is not None and "timing" in gap["text"] and "still" in gap["text"]

"""Golden tests: the offline pipeline on every real corpus video.

The face must be found in >= 95 % of sampled frames on average over the ``video_real`` clips,
pose and size must be plausible, and two clips' summaries must match the checked-in golden
files (tests/golden/*.json) within tolerances.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interview_guard.pipeline.lockstep import analyze_file
from tests.helpers.corpus import files_with_label, require_corpus

GOLDEN = Path(__file__).resolve().parent
SAMPLE_FPS = 5.0
GOLDEN_CLIPS = {
    "dfl_Keanu_Reeves_0_real_left.mp4": "keanu_real_left.summary.json",
    "lp_source_s18.mp4": "lp_source_s18.summary.json",
}


@pytest.fixture(scope="module")
def real_summaries(tmp_path_factory) -> dict[str, dict]:
    require_corpus()
    out = {}
    for clip in sorted(files_with_label("video_real")):
        res = analyze_file(clip, tmp_path_factory.mktemp(clip.stem), sample_fps=SAMPLE_FPS)
        out[clip.name] = res.summary
    return out


def test_face_found_in_95_percent_of_frames(real_summaries):
    fractions = {k: s["face_fraction"] for k, s in real_summaries.items()}
    mean = float(np.mean(list(fractions.values())))
    worst = sorted(fractions.items(), key=lambda kv: kv[1])[:5]
    print(f"\nmean face fraction over {len(fractions)} real clips: {mean:.4f}; worst: {worst}")
    assert len(fractions) >= 50
    assert mean >= 0.95, worst


def test_pose_and_size_are_plausible(real_summaries):
    for name, s in real_summaries.items():
        if s["frames_with_face"] == 0:
            continue
        f = s["face"]
        assert -60 <= f["yaw_deg_median"] <= 60, (name, f)
        assert -45 <= f["pitch_deg_median"] <= 45, (name, f)
        assert 30 <= f["size_px_median"] <= 0.9 * max(s["height"], s["width"]), (name, f)
        assert s["complete"] and s["error"] is None


@pytest.mark.parametrize("clip,golden", sorted(GOLDEN_CLIPS.items()))
def test_golden_summary(real_summaries, clip, golden):
    got = real_summaries[clip]
    want = json.loads((GOLDEN / golden).read_text())
    assert got["frames_analysed"] == want["frames_analysed"]
    assert abs(got["frames_with_face"] - want["frames_with_face"]) <= 1
    assert abs(got["duration_s"] - want["duration_s"]) < 0.05
    for key, tol in (("yaw_deg_median", 2.0), ("pitch_deg_median", 2.0), ("size_px_median", 3.0)):
        assert abs(got["face"][key] - want["face"][key]) <= tol, (key, got["face"][key], want["face"][key])
    assert got["quality_events"] == want["quality_events"]

"""``interview_guard.evaluation``: metrics on known inputs, manifest parsing, clip aggregation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from interview_guard.core.errors import InputError
from interview_guard.core.types import Evidence
from interview_guard.evaluation import metrics as M
from interview_guard.evaluation.analysis import (BASELINE, FUSED, FUSED_NAIVE, PairData, analyse_pair, jsonable,
                                                 pairs_json)
from interview_guard.evaluation.manifest import (comparison_pairs, derive_source, label_polarity, parse_pair_ids,
                                                 read_manifest)
from interview_guard.evaluation.scoring import ClipScore, aggregate, trimmed_mean

# --- AUC ---------------------------------------------------------------------------------------


def test_auc_perfect_reversed_and_ties():
    real, fake = [0.1, 0.2, 0.3], [0.7, 0.8, 0.9]
    assert M.auc(real, fake) == 1.0
    assert M.auc(fake, real) == 0.0
    assert M.auc([0.5, 0.5], [0.5, 0.5, 0.5]) == 0.5
    # one tie among four comparisons: (1 + 1 + 0.5 + 0) / 4
    assert M.auc([0.0, 1.0], [1.0, 2.0]) == pytest.approx(0.875)


def test_auc_matches_brute_force_and_ignores_nan():
    rng = np.random.default_rng(1)
    r = np.round(rng.normal(0, 1, 40), 1)  # rounding makes ties
    f = np.round(rng.normal(0.7, 1, 30), 1)
    brute = np.mean([(x > y) + 0.5 * (x == y) for x in f for y in r])
    assert M.auc(r, f) == pytest.approx(brute)
    assert M.auc(np.r_[r, np.nan], np.r_[f, np.nan, np.nan]) == pytest.approx(brute)
    assert math.isnan(M.auc([], [1.0]))
    assert math.isnan(M.auc([np.nan], [1.0]))


def test_roc_curve_ends_and_is_monotone():
    fpr, tpr, thr = M.roc_curve([0, 1, 2, 3], [1.5, 2.5, 3, 4])
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.isinf(thr[0])
    # trapezoid area under the ROC equals the Mann-Whitney AUC (ties included)
    r, f = [0, 1, 1, 2, 3], [1, 2, 2.5, 3, 4]
    fpr, tpr, _ = M.roc_curve(r, f)
    assert np.trapezoid(tpr, fpr) == pytest.approx(M.auc(r, f))


# --- EER and TPR at 1 % FPR ---------------------------------------------------------------------


def test_eer_known_cases():
    assert M.eer([0, 1, 2], [3, 4, 5]) == 0.0
    assert M.eer([3, 4, 5], [0, 1, 2]) == 1.0
    # reals 0..9, fakes 5..14: at threshold 5 FPR = 0.5, FNR = 0 -> interpolated EER lies in (0, 0.5]
    e = M.eer(np.arange(10), np.arange(5, 15))
    assert 0.0 < e <= 0.5
    # identical distributions -> 0.5
    x = np.linspace(0, 1, 101)
    assert M.eer(x, x) == pytest.approx(0.5, abs=0.01)


def test_eer_of_two_gaussians():
    rng = np.random.default_rng(0)
    d = 2.0
    r, f = rng.normal(0, 1, 20000), rng.normal(d, 1, 20000)
    assert M.eer(r, f) == pytest.approx(norm.cdf(-d / 2), abs=0.01)  # 0.159
    assert M.auc(r, f) == pytest.approx(norm.cdf(d / math.sqrt(2)), abs=0.01)  # 0.921


def test_tpr_at_1pct_fpr_and_genuine_calibrated_threshold():
    reals = np.arange(200, dtype=float)            # 0..199; 1 % of 200 = 2 false alarms allowed
    fakes = np.array([150, 197.5, 198.5, 250, 300], dtype=float)
    thr = M.threshold_at_fpr(reals, 0.01)
    assert thr == 197.0                           # reals 198 and 199 lie above it
    assert M.rate_above(reals, thr) == pytest.approx(0.01)
    assert M.rate_above(fakes, thr) == pytest.approx(0.8)
    assert M.tpr_at_fpr(reals, fakes, 0.01) == pytest.approx(0.8)
    # fewer than 100 genuine clips: 1 % means no false alarm at all
    assert M.threshold_at_fpr([0.1, 0.5, 0.9], 0.01) == 0.9
    assert M.tpr_at_fpr([0.1, 0.5, 0.9], [0.95, 0.2], 0.01) == 0.5
    assert M.tpr_at_fpr([0, 1], [2, 3], 0.01) == 1.0
    assert M.tpr_at_fpr([2, 3], [0, 1], 0.01) == 0.0


def test_threshold_and_roc_agree_on_random_data():
    rng = np.random.default_rng(3)
    for _ in range(20):
        r = np.round(rng.normal(0, 1, rng.integers(20, 300)), 1)
        f = np.round(rng.normal(1, 1, rng.integers(5, 50)), 1)
        thr = M.threshold_at_fpr(r, 0.01)
        assert M.rate_above(r, thr) <= 0.01 + 1e-12
        assert M.tpr_at_fpr(r, f, 0.01) == pytest.approx(M.rate_above(f, thr))


# --- bootstrap ------------------------------------------------------------------------------------


def test_bootstrap_ci_contains_estimate_and_is_seeded():
    rng = np.random.default_rng(5)
    r, f = rng.normal(0, 1, 60), rng.normal(1, 1, 30)
    a = M.auc(r, f)
    lo, hi = M.auc_ci(r, f, n_boot=1000, seed=0)
    assert lo < a < hi and 0 <= lo and hi <= 1
    assert (lo, hi) == M.auc_ci(r, f, n_boot=1000, seed=0)
    assert (lo, hi) != M.auc_ci(r, f, n_boot=1000, seed=1)
    # the fast weighted bootstrap equals AUCs of explicit resamples in distribution: compare means
    boots = M.bootstrap_auc(r, f, n_boot=2000, seed=2)
    slow = M.bootstrap_stat(M.auc, r, f, n_boot=2000, seed=2)
    assert boots.mean() == pytest.approx(slow.mean(), abs=0.01)
    assert boots.std() == pytest.approx(slow.std(), rel=0.15)
    assert M.auc_ci([1, 2, 3], [4, 5, 6], n_boot=200) == (1.0, 1.0)
    assert all(math.isnan(x) for x in M.auc_ci([], [1.0]))


def test_spearman_and_grouped_auc():
    x = np.arange(10.0)
    assert M.spearman(x, x ** 3) == pytest.approx(1.0)
    assert M.spearman(x, -x) == pytest.approx(-1.0)
    assert math.isnan(M.spearman([1, 2], [3, 4]))
    assert math.isnan(M.spearman([1, 1, 1], [1, 2, 3]))
    # three pairs: the fake wins in two, ties in one -> (1 + 1 + 0.5) / 3
    win, n_groups, n_cmp = M.grouped_auc([0, 5, 1], ["a", "b", "c"], [1, 6, 1], ["a", "b", "c"])
    assert (win, n_groups, n_cmp) == (pytest.approx(2.5 / 3), 3, 3)
    # cross-group comparisons are ignored: pooled AUC would be 0.5 here, within-pair is 1.0
    win, _, _ = M.grouped_auc([0, 10], ["a", "b"], [1, 11], ["a", "b"])
    assert win == 1.0 and M.auc([0, 10], [1, 11]) == 0.75
    lo, hi = M.grouped_auc_ci([0, 5, 1, 2], ["a", "b", "c", "d"], [1, 6, 0, 3], ["a", "b", "c", "d"], n_boot=500)
    assert 0 <= lo <= 0.75 <= hi <= 1


def test_leave_one_source_out_fpr():
    # source "b" is shifted up: a threshold calibrated on "a" flags all of it
    real = [0, 1, 2, 3, 10, 11]
    src = ["a", "a", "a", "a", "b", "b"]
    out = M.leave_one_source_out_fpr(real, src)
    assert out["per_source"]["b"] == 1.0 and out["per_source"]["a"] == 0.0
    assert out["fpr"] == pytest.approx(2 / 6)


# --- manifest ----------------------------------------------------------------------------------------

TINY = (
    "# a comment line\n"
    "file\tlabel\tnotes\textra_col\n"
    "video_real/dfl_a_real_left.mp4\tvideo_real\tPAIR dfl-a_0: left half\tx\n"
    "video_fake_faceswap/dfl_a_swap_right.mp4\tvideo_fake_faceswap\t\"PAIR dfl-a_0: right \"\"quoted\"\"\"\n"
    "video_real/dfl_a_real_left.mp4\tvideo_real\tduplicate\n"
    "\tvideo_real\tno file\n"
    "clip1.mp4\t\tno label and no folder\n"
    "audio_fake_vc/freevcdemo_x.wav\taudio_fake_vc\tPAIRSET freevc-demo: converted\n"
    "weird/thing.mp4\tmystery\n"
    "/abs/path/clip.mp4\tvideo_fake_lipsync\n"
)


def test_manifest_with_missing_columns(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_text(TINY)
    m = read_manifest(tmp_path)
    files = [r.file for r in m.rows]
    assert files == ["video_real/dfl_a_real_left.mp4", "video_fake_faceswap/dfl_a_swap_right.mp4",
                     "audio_fake_vc/freevcdemo_x.wav", "weird/thing.mp4", "/abs/path/clip.mp4"]
    assert len(m.warnings) == 3  # duplicate, no file, no label
    real, fake, audio, weird, lipsync = m.rows
    assert real.pair_id == fake.pair_id == "dfl-a_0" and real.pairset_id is None
    assert audio.pairset_id == "freevc-demo" and audio.pair_id is None
    assert real.path == tmp_path.resolve() / "video_real/dfl_a_real_left.mp4"
    assert str(lipsync.path) == "/abs/path/clip.mp4"
    assert real.duration_s is None and real.source_repo == "" and real.kind == ""
    assert (real.modality, real.polarity, real.source) == ("video", "real", "dfl")
    assert (audio.modality, audio.polarity, audio.source) == ("audio", "fake", "freevcdemo")
    assert (weird.modality, weird.polarity) == ("video", "unknown")
    assert dict(real.extra) == {"extra_col": "x"}
    assert "right \"quoted\"" in fake.notes
    # frozen rows
    with pytest.raises(Exception):
        real.label = "x"  # type: ignore[misc]
    pairs = comparison_pairs(m.rows)
    assert ("video_real", "video_fake_faceswap") in pairs and ("video_real", "video_fake_lipsync") in pairs
    assert not any("mystery" in p for pr in pairs for p in pr)


def test_manifest_without_label_column_uses_folder(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_text("file\nvideo_real/a.mp4\nvideo_fake_reenact/b.mp4\n")
    m = read_manifest(tmp_path)
    assert [r.label for r in m.rows] == ["video_real", "video_fake_reenact"]
    assert comparison_pairs(m.rows) == [("video_real", "video_fake_reenact")]


def test_manifest_errors(tmp_path):
    with pytest.raises(InputError, match="no MANIFEST.tsv"):
        read_manifest(tmp_path)
    (tmp_path / "MANIFEST.tsv").write_text("name\tlabel\nx\ty\n")
    with pytest.raises(InputError, match="no 'file' column"):
        read_manifest(tmp_path)
    with pytest.raises(InputError, match="does not exist"):
        read_manifest(tmp_path / "nope")


def test_label_and_source_helpers():
    assert label_polarity("video_fake_faceswap") == "fake"
    assert label_polarity("audio_real_speech") == "real"
    assert label_polarity("image_real_hand") == "real"
    assert label_polarity("misc") == "unknown"
    assert derive_source("video_real/lp_driving_d1.mp4", "KwaiVGI/LivePortrait") == "lp"
    assert derive_source("real_0001.mp4", "org/SomeRepo") == "somerepo"
    assert derive_source("0001.mp4", "") == "unknown"
    assert parse_pair_ids('PAIR ani-Aragaki with x; PAIRSET s-1: y') == ("ani-Aragaki", "s-1")
    assert parse_pair_ids("PAIRSET only-set: z") == (None, "only-set")


def test_comparison_pairs_known_and_generic(tmp_path):
    (tmp_path / "MANIFEST.tsv").write_text(
        "file\tlabel\n" + "".join(f"{lab}/x{i}.mp4\t{lab}\n" for i, lab in enumerate(
            ["video_real", "video_real_hand", "video_fake_reenact", "video_fake_faceswap", "audio_real_speech",
             "audio_fake_tts", "audio_fake_newsys"])))
    pairs = comparison_pairs(read_manifest(tmp_path).rows)
    assert pairs == [("video_real", "video_fake_faceswap"), ("video_real", "video_fake_reenact"),
                     ("audio_real_speech", "audio_fake_tts"), ("audio_real_speech", "audio_fake_newsys")]
    assert comparison_pairs(read_manifest(tmp_path).rows, [("video_real_hand", "video_fake_reenact"),
                                                           ("a", "b")]) == [("video_real_hand", "video_fake_reenact")]


# --- aggregation and analysis ---------------------------------------------------------------------------


def _ev(det, llr, q=1.0, kind="risk"):
    return Evidence(det, 0, 0, llr, q, "r", kind=kind)


def test_aggregate_mean_trimmed_and_abstain():
    ev = [_ev("a", 1.0), _ev("a", 2.0), _ev("a", 3.0), _ev("a", 100.0), _ev("a", 0.0),
          _ev("a", 50.0, q=0.0), _ev("a", 9.0, kind="quality"), _ev("b", 5.0, q=0.0), _ev("c", 1.0)]
    agg = aggregate(ev, ["a", "b"])
    assert agg["a"]["mean"] == pytest.approx(106 / 5) and agg["a"]["n"] == 5 and agg["a"]["n_abstain"] == 2
    assert agg["a"]["trimmed"] == pytest.approx(2.0)      # 20 % of 5 = 1 trimmed each side
    assert agg["a"]["median"] == 2.0
    assert math.isnan(agg["b"]["mean"]) and agg["b"]["n"] == 0  # abstained on the whole clip: no score
    assert "c" not in agg
    assert trimmed_mean(np.array([1.0, 2.0])) == 1.5


def test_clip_score_fused_and_json_roundtrip():
    cs = ClipScore("k", "video_real", "video", "ok", detectors={
        "a": {"mean": 1.0, "trimmed": 0.5, "median": 1.0, "n": 3, "n_abstain": 0},
        "b": {"mean": math.nan, "trimmed": math.nan, "median": math.nan, "n": 0, "n_abstain": 4},
        "c": {"mean": -0.25, "trimmed": 0.0, "median": 0.0, "n": 1, "n_abstain": 0}})
    assert cs.fused_naive(["a", "b", "c"]) == pytest.approx(0.75)
    assert math.isnan(cs.fused_naive(["b"]))
    assert math.isnan(cs.fused(["a", "c"]))        # no calibrated values: no fused score, never the raw sum
    assert math.isnan(cs.score("zzz"))
    text = json.dumps(cs.to_json(), allow_nan=False)
    back = ClipScore.from_json(json.loads(text))
    assert math.isnan(back.score("b")) and back.score("a") == 1.0 and math.isnan(back.face_size_median)


def _pair(n_real=30, n_fake=20, seed=0):
    from interview_guard.evaluation.manifest import ManifestRow
    from pathlib import Path

    rng = np.random.default_rng(seed)
    items = {"real": [], "fake": []}
    for which, n, mu in (("real", n_real, 0.0), ("fake", n_fake, 1.5)):
        for i in range(n):
            src = "s1" if i % 2 else "s2"
            row = ManifestRow(line=i, file=f"{which}/{src}_{i}.mp4", path=Path("/x"), label=f"video_{which}",
                              modality="video", polarity=which, source=src, duration_s=1.0 if i == 0 else 5.0,
                              pair_id=f"p{i}" if i < 5 else None)
            a = rng.normal(mu, 1)
            cs = ClipScore(row.key, row.label, "video", "ok", face_size_median=float(rng.uniform(80, 200)),
                           detectors={"a": {"mean": a, "trimmed": a, "median": a, "n": 5, "n_abstain": 0},
                                      "b": {"mean": math.nan if i % 4 == 0 else -a, "trimmed": math.nan,
                                            "median": math.nan, "n": 0, "n_abstain": 5}})
            items[which].append((row, cs))
    return PairData("video_real", "video_fake", items["real"], items["fake"], ["a", "b"])


def test_analyse_pair_structure_and_json_schema():
    a = analyse_pair(_pair(), n_boot=200)
    assert set(a["detectors"]) == {"a", "b", FUSED, FUSED_NAIVE, BASELINE}
    da = a["detectors"]["a"]
    assert 0.7 < da["auc"] <= 1 and da["auc_ci"][0] <= da["auc"] <= da["auc_ci"][1]
    assert da["coverage_real"] == 1.0 and da["n_real"] == 30
    db = a["detectors"]["b"]
    assert db["coverage_real"] < 1 and db["n_real"] < 30 and db["auc"] < 0.3
    assert set(a["per_source"]) == {"s1", "s2"}
    assert a["same_source_pairs"]["n_groups"] == 5
    assert a["min_duration_subset"]["n_real_excluded"] == 1
    out = pairs_json({"video_real|video_fake": a})
    text = json.dumps(jsonable(out), allow_nan=False)
    entry = json.loads(text)["pairs"]["video_real|video_fake"]
    assert set(entry) == {"a", "b", FUSED, FUSED_NAIVE}
    for m in entry.values():
        assert {"auc", "eer", "tpr_at_1pct_fpr", "n_real", "n_fake"} <= set(m)
    json.dumps(jsonable(a), allow_nan=False)  # the full metrics are valid JSON too


def test_fused_score_is_the_calibrated_weighted_evidence_not_the_raw_sum():
    """The eval's fused score uses the product's calibration: a detector fitted to slope 0 adds
    nothing however loud its raw llr, weights discount correlated ones, low quality abstains."""
    from interview_guard.core.types import Evidence
    from interview_guard.fusion.calibration import Calibration, DetectorCalibration

    cal = Calibration(detectors={
        "loud": DetectorCalibration("loud", "1", slope=0.0, intercept=0.0),
        "good": DetectorCalibration("good", "1", slope=2.0, intercept=-0.5, weight=0.5, min_quality=0.3)})

    def ev(det, llr, q=1.0):
        return Evidence(detector=det, t_start_ns=0, t_end_ns=1, kind="risk", llr=llr, quality=q, reason="r")

    evidence = [ev("loud", 2.0), ev("loud", 2.0), ev("good", 0.5), ev("good", 1.0), ev("good", 9.0, q=0.1)]
    agg = aggregate(evidence, ["loud", "good"], weights={"loud": 1.0, "good": 0.5},
                    calibrate=lambda e: cal.calibrate(e, "1"))
    assert agg["loud"]["mean"] == 2.0 and agg["loud"]["cal_mean"] == 0.0
    assert agg["good"]["n"] == 3 and agg["good"]["cal_n"] == 2          # q 0.1 < min_quality 0.3: abstains
    assert agg["good"]["cal_mean"] == pytest.approx((0.5 + 1.5) / 2)
    cs = ClipScore("k", "video_real", "video", "ok", detectors=agg)
    assert cs.fused(["loud", "good"]) == pytest.approx(0.5 * 1.0)
    assert cs.fused_naive(["loud", "good"]) == pytest.approx(2.0 + (0.5 + 1.0 + 9.0) / 3)

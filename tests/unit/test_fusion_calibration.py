"""Per-detector calibration (fusion.calibration): Platt fit, abstention, clipping, the table file."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from interview_guard.core.errors import ConfigError
from interview_guard.core.types import Evidence
from interview_guard.fusion.calibration import (CHALLENGE_CLIP, PASSIVE_CLIP, UNCALIBRATED_SHRINK, Calibration,
                                                DetectorCalibration, cllr, correlation_weights, fit_platt)

NS = 1_000_000_000


def _windows(rng, n_clips: int, per_clip: int, mu: float, sd: float = 1.0):
    x = rng.normal(mu, sd, size=(n_clips, per_clip)).ravel()
    clips = np.repeat(np.arange(n_clips), per_clip)
    return x, clips


def test_platt_recovers_a_known_llr():
    # genuine x ~ N(-1, 1), fake x ~ N(+1, 1): the true LLR is exactly 2·x
    rng = np.random.default_rng(0)
    xg, cg = _windows(rng, 300, 8, -1.0)
    xf, cf = _windows(rng, 300, 8, +1.0)
    fit = fit_platt(np.r_[xg, xf], np.r_[np.zeros(len(xg)), np.ones(len(xf))], np.r_[cg, cf + 10_000])
    assert abs(fit.slope - 2.0) < 0.2, fit
    assert abs(fit.intercept) < 0.15, fit
    assert fit.cllr_cal < 0.65          # clipped to [-1, 2.3] nats, so a little above the unclipped optimum
    assert 0.85 < fit.auc_window < 0.95


def test_a_corpus_trained_model_is_never_amplified():
    # the same data as above wants slope 2; a detector whose model trained on the corpus gets at
    # most its own (held-out) calibration back, and calibrate knows which detectors those are
    from interview_guard.fusion.fit import _corpus_trained

    rng = np.random.default_rng(0)
    xg, cg = _windows(rng, 300, 8, -1.0)
    xf, cf = _windows(rng, 300, 8, +1.0)
    fit = fit_platt(np.r_[xg, xf], np.r_[np.zeros(len(xg)), np.ones(len(xf))], np.r_[cg, cf + 10_000],
                    slope_max=1.0)
    assert 0.95 <= fit.slope <= 1.0, fit
    assert _corpus_trained("voice_synthetic") and _corpus_trained("face_swap_cnn")
    assert not _corpus_trained("seam_band") and not _corpus_trained("no_such_detector")


def test_prior_is_removed_with_unbalanced_classes():
    rng = np.random.default_rng(1)
    xg, cg = _windows(rng, 400, 5, -1.0)
    xf, cf = _windows(rng, 40, 5, +1.0)       # 10x fewer fakes: the map must still be an LLR, not a posterior
    fit = fit_platt(np.r_[xg, xf], np.r_[np.zeros(len(xg)), np.ones(len(xf))], np.r_[cg, cf + 10_000])
    assert abs(fit.intercept) < 0.35, fit


def test_each_clip_weighs_the_same():
    # one genuine clip with 2000 high-scoring windows must not drag the map: clips weigh 1 each
    rng = np.random.default_rng(2)
    xg, cg = _windows(rng, 200, 5, -1.0)
    xf, cf = _windows(rng, 200, 5, +1.0)
    big = rng.normal(1.0, 1.0, 2000)
    x = np.r_[xg, big, xf]
    y = np.r_[np.zeros(len(xg) + len(big)), np.ones(len(xf))]
    clips = np.r_[cg, np.full(len(big), 9999), cf + 10_000]
    fit = fit_platt(x, y, clips)
    assert fit.slope > 1.5, fit


def test_anti_informative_detector_is_switched_off():
    rng = np.random.default_rng(3)
    xg, cg = _windows(rng, 50, 5, +1.0)
    xf, cf = _windows(rng, 50, 5, -1.0)
    fit = fit_platt(np.r_[xg, xf], np.r_[np.zeros(len(xg)), np.ones(len(xf))], np.r_[cg, cf + 10_000])
    assert fit.slope == pytest.approx(0.0, abs=1e-6)
    assert "no separating power" in fit.note


def test_constant_output_keeps_the_uncalibrated_map():
    x = np.full(100, -1.0)
    y = np.r_[np.zeros(50), np.ones(50)]
    fit = fit_platt(x, y, np.arange(100) // 5)
    assert fit.slope == UNCALIBRATED_SHRINK and fit.intercept == 0.0
    assert "never varied" in fit.note


def test_too_little_data_is_switched_off():
    fit = fit_platt([0.1, 0.2], [0, 1], [0, 1])
    assert fit.slope == 0.0 and "too few" in fit.note


def test_grouped_cross_validation_is_reported():
    rng = np.random.default_rng(4)
    xg, cg = _windows(rng, 60, 4, -1.0)
    xf, cf = _windows(rng, 60, 4, +1.0)
    clips = np.r_[cg, cf + 1000]
    groups = clips % 12
    fit = fit_platt(np.r_[xg, xf], np.r_[np.zeros(len(xg)), np.ones(len(xf))], clips, groups=groups)
    assert math.isfinite(fit.cllr_cv) and fit.cllr_cv < 0.8


def test_cllr_reference_values():
    assert cllr([0.0], [0.0]) == pytest.approx(1.0)
    assert cllr([-20.0], [20.0]) < 1e-6


def _ev(det="seam_band", llr=1.0, q=0.9, kind="risk", details=None, t0=0.0, t1=1.5):
    return Evidence(det, int(t0 * NS), int(t1 * NS), llr, q, "r", kind=kind, details=details or {})


def test_apply_clips_abstains_and_falls_back():
    cal = Calibration({"seam_band": DetectorCalibration("seam_band", "1", slope=2.0, intercept=0.5, min_quality=0.3)})
    assert cal.calibrate(_ev(llr=0.5), "1") == pytest.approx(1.5)
    assert cal.calibrate(_ev(llr=5.0), "1") == PASSIVE_CLIP[1]           # clipped
    assert cal.calibrate(_ev(llr=-5.0), "1") == PASSIVE_CLIP[0]
    assert cal.calibrate(_ev(q=0.2), "1") is None                        # poor input: abstain
    assert cal.calibrate(_ev(kind="quality"), "1") is None               # quality notes never count
    # fitted for another version: the uncalibrated fallback (shrunk, clipped) and the status says so
    assert cal.calibrate(_ev(llr=1.0), "2") == pytest.approx(UNCALIBRATED_SHRINK)
    assert cal.status("seam_band", "2") == "version mismatch"
    assert cal.status("other") == "uncalibrated"


def test_challenge_results_use_the_wide_clip():
    cal = Calibration()
    assert cal.calibrate(_ev("challenge_hand_wave", 9.0, details={"result": "failed"})) == CHALLENGE_CLIP[1]
    assert cal.calibrate(_ev("challenge_hand_wave", -9.0, details={"result": "passed"})) == CHALLENGE_CLIP[0]
    assert cal.calibrate(_ev("challenge_hand_wave", 3.0, details={"result": "inconclusive"})) == 0.0
    assert cal.weight("challenge_hand_wave") == 1.0
    assert cal.group("challenge_head_turn") == "challenge"


def test_default_weights_for_shared_modalities():
    cal = Calibration()
    assert cal.weight("voice_synthetic", n_in_group=1) == 1.0
    assert cal.weight("seam_band", n_in_group=4) == 0.5


def test_table_round_trip_and_bad_file(tmp_path):
    cal = Calibration({"seam_band": DetectorCalibration("seam_band", "1", slope=1.3, intercept=-0.2, weight=0.7,
                                                        stats={"auc_window": 0.8})},
                      fusion={"h_amber": 4.0, "k": 0.2}, meta={"fitted_at": "x"})
    p = cal.save(tmp_path / "calibration.json")
    back = Calibration.load(p)
    assert back.detectors["seam_band"].slope == 1.3 and back.detectors["seam_band"].weight == 0.7
    assert back.fusion["h_amber"] == 4.0
    assert Calibration.load(tmp_path / "missing.json").detectors == {}
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not readable JSON"):
        Calibration.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"schema": 99}))
    with pytest.raises(ConfigError, match="schema"):
        Calibration.load(tmp_path / "old.json")


def test_correlated_detectors_share_their_weight():
    rng = np.random.default_rng(5)
    base = rng.normal(size=500)
    keys = [(0, i) for i in range(500)]
    series = {"a": dict(zip(keys, base)), "b": dict(zip(keys, base + rng.normal(scale=0.01, size=500))),
              "c": dict(zip(keys, rng.normal(size=500))), "v": dict(zip(keys, base))}
    groups = {"a": "video", "b": "video", "c": "video", "v": "audio"}
    w, rho = correlation_weights(series, groups)
    assert w["a"] == pytest.approx(0.5, abs=0.03) and w["b"] == pytest.approx(0.5, abs=0.03)
    assert w["c"] > 0.9
    assert w["v"] == 1.0                          # alone in its modality: correlation across modalities is allowed
    assert rho["a"]["b"] > 0.99

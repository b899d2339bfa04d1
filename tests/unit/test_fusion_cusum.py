"""CUSUM accumulation and the level machine (fusion.engine), on simulated LLR streams (§10.4).

The run-length checks compare Monte-Carlo average run lengths with Siegmund's approximation
for a CUSUM on Gaussian increments (mean δ, sd 1, threshold h):
ARL ≈ (exp(−2δ(h + 1.166)) + 2δ(h + 1.166) − 1) / (2δ²).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from interview_guard.core.types import Evidence
from interview_guard.fusion import Calibration, FusionConfig, FusionEngine, Level, LevelMachine

NS = 1_000_000_000
HOP = 2 * NS


def siegmund_arl(delta: float, h: float) -> float:
    b = h + 1.166
    return (math.exp(-2 * delta * b) + 2 * delta * b - 1) / (2 * delta * delta)


def mc_arl(delta: float, h: float, runs: int, seed: int) -> float:
    """Hops until the machine first turns amber, from a fresh start, E ~ N(δ + k, 1)."""
    cfg = FusionConfig(k=0.1, h_amber=h, h_red=1e9)
    rng = np.random.default_rng(seed)
    lengths = []
    for _ in range(runs):
        m = LevelMachine(cfg)
        n = 0
        while True:
            n += 1
            ch = m.step(n * HOP, float(rng.normal(delta + cfg.k, 1.0)), usable=True)
            if ch is not None and ch[1] is Level.AMBER:
                break
        lengths.append(n)
    return float(np.mean(lengths))


@pytest.mark.parametrize("delta,h,runs,tol", [(-0.25, 3.0, 1500, 0.12), (0.5, 4.0, 3000, 0.08)])
def test_average_run_length_matches_siegmund(delta, h, runs, tol):
    want = siegmund_arl(delta, h)
    got = mc_arl(delta, h, runs, seed=7)
    assert abs(got - want) / want < tol, (got, want)


def test_constant_evidence_crosses_exactly_on_time():
    cfg = FusionConfig(k=0.1, h_amber=3.0, h_red=9.0)
    m = LevelMachine(cfg)
    t_amber = None
    for n in range(1, 50):
        ch = m.step(n * HOP, 0.6, usable=True)   # S grows 0.5 per hop
        if ch and ch[1] is Level.AMBER:
            t_amber = n
            break
    assert t_amber == 6                           # 6 × 0.5 = 3.0 ≥ h_amber
    assert m.level is Level.AMBER


def test_evidence_at_or_below_the_drift_never_alarms():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=3.0))
    levels = {m.step(n * HOP, 0.1, usable=True) for n in range(1, 2000)}
    assert m.S == 0.0 and m.level is Level.GREEN
    assert levels <= {None, (Level.INCONCLUSIVE, Level.GREEN)}


def test_hysteresis_amber_holds_then_releases_after_30_s():
    cfg = FusionConfig(k=0.1, h_amber=3.0, h_red=9.0)
    m = LevelMachine(cfg)
    n = 0
    for _ in range(8):
        n += 1
        m.step(n * HOP, 1.1, usable=True)      # +1 per hop → amber at hop 3
    assert m.level is Level.AMBER
    changes = []
    below_from = None
    for _ in range(60):
        n += 1
        ch = m.step(n * HOP, -0.5, usable=True)
        if below_from is None and m.S < cfg.h_amber / 2:
            below_from = n
        if ch:
            changes.append((n, ch))
    assert len(changes) == 1 and changes[0][1] == (Level.AMBER, Level.GREEN)
    # released exactly 30 s (15 hops) after S fell below h_amber/2
    assert changes[0][0] == below_from + 15


def test_no_flapping_around_the_threshold():
    cfg = FusionConfig(k=0.1, h_amber=3.0)
    m = LevelMachine(cfg)
    entries = 0
    n = 0
    for i in range(600):
        n += 1
        e = 1.1 if (i // 3) % 2 == 0 else -0.8     # S oscillates around h_amber
        ch = m.step(n * HOP, e, usable=True)
        if ch and ch[1] is Level.AMBER:
            entries += 1
    assert entries == 1


def test_passive_evidence_alone_never_reaches_red_from_one_modality():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=3.0, h_red=9.0))
    for n in range(1, 200):
        m.step(n * HOP, 2.0, usable=True, pos_modalities={"video"})
    assert m.S > 100 and m.level is Level.AMBER


def test_passive_red_needs_two_modalities_and_twice_h():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=3.0, h_red=9.0))
    got = None
    for n in range(1, 40):
        ch = m.step(n * HOP, 1.1, usable=True, pos_modalities={"video", "audio"})
        if ch and ch[1] is Level.RED:
            got = m.S
            break
    assert got is not None and got >= 18.0


def test_failed_challenge_confirms_red():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=3.0, h_red=9.0))
    n = 0
    for _ in range(10):
        n += 1
        m.step(n * HOP, 1.1, usable=True)       # S = 10 ≥ h_red, no challenge yet: amber only
    assert m.level is Level.AMBER
    n += 1
    ch = m.step(n * HOP, 4.6, usable=True, failed=["challenge_hand_wave"])
    assert ch == (Level.AMBER, Level.RED)


def test_two_failed_challenge_types_are_red_on_their_own():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=30.0, h_red=90.0))
    m.step(HOP, 0.0, usable=True)
    m.step(2 * HOP, 0.0, usable=True, failed=["challenge_hand_wave"])
    assert m.level is Level.AMBER                  # one failed challenge: worth a check
    ch = m.step(3 * HOP, 0.0, usable=True, failed=["challenge_head_turn"])
    assert ch == (Level.AMBER, Level.RED)


def test_red_leaves_only_after_60_s_below_half():
    m = LevelMachine(FusionConfig(k=0.1, h_amber=3.0, h_red=9.0))
    m.step(HOP, 0.0, usable=True, failed=["challenge_a"])
    m.step(2 * HOP, 0.0, usable=True, failed=["challenge_b"])
    assert m.level is Level.RED
    n = 2
    out = []
    while n < 80:
        n += 1
        ch = m.step(n * HOP, -1.0, usable=True)
        if ch:
            out.append((n, ch))
    assert out and out[0][1] == (Level.RED, Level.AMBER) and out[0][0] >= 2 + 30


def test_inconclusive_after_20_s_without_usable_evidence_and_back():
    m = LevelMachine(FusionConfig())
    assert m.step(HOP, 0.0, usable=True) == (Level.INCONCLUSIVE, Level.GREEN)
    changes = []
    for n in range(2, 40):
        ch = m.step(n * HOP, 0.0, usable=n > 25)
        if ch:
            changes.append((n, ch))
    assert changes[0] == (11, (Level.GREEN, Level.INCONCLUSIVE))   # last usable at hop 1: 20 s later
    assert changes[1][1] == (Level.INCONCLUSIVE, Level.GREEN) and changes[1][0] >= 26


def test_never_usable_stays_inconclusive():
    m = LevelMachine(FusionConfig())
    for n in range(1, 100):
        assert m.step(n * HOP, 0.0, usable=False) is None
    assert m.max_level is Level.INCONCLUSIVE


# -- the engine on Evidence streams ---------------------------------------------------------------------

def _stream(det: str, mu: float, secs: float, *, period: float = 1.5, span: float | None = None, seed: int = 0,
            q: float = 0.9):
    rng = np.random.default_rng(seed)
    out, t = [], 0.0
    span = span or period
    while t + span <= secs:
        out.append(Evidence(det, int(t * NS), int((t + span) * NS), float(rng.normal(mu, 0.3)), q,
                            f"{det} saw something", code="x"))
        t += period
    return out


def test_overlapping_windows_are_counted_once():
    # a detector reporting 2-s windows every 1 s (like face_swap_cnn) overlaps itself 2x
    cal = Calibration()
    overl = [Evidence("d", int(t * NS), int((t + 2) * NS), 1.0, 1.0, "r") for t in range(0, 60)]
    eng = FusionEngine(cal, FusionConfig(k=0.0, h_amber=1e9, h_red=1e9), versions={"d": "1"})
    eng.replay(overl, 62 * NS)
    total = sum(p.contrib.get("d", 0.0) for p in eng.points)
    # 61 s covered once at 0.5 nats (uncalibrated shrink) per 2-s window: 61/2 × 0.5 + the first window's 0.5
    assert total == pytest.approx((60 * 0.5 + 1.0) * 0.5, rel=0.02)


def test_engine_genuine_stream_stays_green_fake_stream_turns_amber():
    cal = Calibration()
    cfg = FusionConfig(k=0.1, h_amber=3.0, h_red=9.0)
    g = FusionEngine(cal, cfg)
    g.replay(_stream("seam_band", -0.4, 600), 600 * NS)
    assert g.max_level is Level.GREEN
    f = FusionEngine(cal, cfg)
    cues = f.replay(_stream("seam_band", 1.5, 60, seed=1), 60 * NS)
    amber = [c for c in cues if c.level is Level.AMBER]
    assert amber and amber[0].t_s <= 12.0


def test_late_evidence_is_not_lost():
    cal = Calibration()
    eng = FusionEngine(cal, FusionConfig(k=0.0))
    eng.advance(10 * NS)
    eng.add([Evidence("voice_synthetic", 1 * NS, 3 * NS, 2.0, 1.0, "late audio")])
    eng.advance(20 * NS)
    assert sum(p.contrib.get("voice_synthetic", 0.0) for p in eng.points) == pytest.approx(1.0)

"""Every registered detector honours the contract in interview_guard/detectors/contract.py.

A new detector joins this suite automatically through the registry. It is fed a scripted
sequence of real-looking observations (a synthetic face mesh moving, disappearing,
shrinking, blurring) and must stay pure: deterministic after reset, no wall clock, valid
Evidence only.
"""

from __future__ import annotations

import json
import math
import sys
import time

import numpy as np
import pytest

from interview_guard.core.types import NS_PER_S, AudioChunk, Evidence
from interview_guard.detectors import registry
from interview_guard.detectors.contract import KINDS, MODALITIES, NEEDS, Detector, Window
from tests.unit.synthetic import scripted_observations

DETECTOR_IDS = registry.available()


def _windows() -> list[Window]:
    wins = [Window(t_ns=o.t_ns, observation=o) for o in scripted_observations()]
    rng = np.random.default_rng(0)
    sr = 16000
    for i in range(40):  # 10 s of audio in 0.25-s chunks: noise bursts and silence
        amp = 0.2 if (i // 8) % 2 == 0 else 0.0
        samples = (rng.standard_normal(sr // 4) * amp).astype(np.float32)
        wins.append(Window(t_ns=i * NS_PER_S // 4 + NS_PER_S // 4, audio=AudioChunk(i * NS_PER_S // 4, samples, sr)))
    wins.sort(key=lambda w: (w.t_ns, w.audio is not None))
    return wins


def _feed(det: Detector, windows: list[Window]) -> list[Evidence]:
    out = []
    for w in windows:
        if det.modality == "video" and w.observation is None:
            continue
        if det.modality == "audio" and w.audio is None:
            continue
        ev = det.process(w)
        if ev is not None:
            assert isinstance(ev, Evidence), f"{det.id} returned {type(ev)}"
            out.append((w, ev))
    return out


def test_registry_has_detectors():
    assert "face_quality" in DETECTOR_IDS


@pytest.mark.parametrize("det_id", DETECTOR_IDS)
def test_metadata(det_id):
    det = registry.create(det_id)
    assert det.id == det_id and det.id.replace("_", "").isalnum() and det.id.islower()
    assert isinstance(det.version, str) and det.version
    assert det.modality in MODALITIES
    assert set(det.needs) <= NEEDS
    assert det.kind in KINDS
    assert det.description, "describe what the detector looks at in one sentence"


@pytest.mark.parametrize("det_id", DETECTOR_IDS)
def test_evidence_is_valid(det_id):
    det = registry.create(det_id)
    pairs = _feed(det, _windows())
    for w, ev in pairs:
        assert ev.detector == det.id
        assert math.isfinite(ev.llr)
        assert 0.0 <= ev.quality <= 1.0
        assert 0 <= ev.t_start_ns <= ev.t_end_ns <= w.t_ns
        assert ev.kind == det.kind
        assert len(ev.reason) >= 20 and ev.reason[0].isupper() and ev.reason.rstrip().endswith((".", ")"))
        if det.kind == "quality":
            assert ev.llr == 0.0, "quality evidence must not claim anything about authenticity"
        json.dumps(ev.to_json())  # serialisable


@pytest.mark.parametrize("det_id", DETECTOR_IDS)
def test_deterministic_after_reset(det_id):
    det = registry.create(det_id)
    wins = _windows()
    first = [ev.to_json() for _, ev in _feed(det, wins)]
    det.reset()
    second = [ev.to_json() for _, ev in _feed(det, wins)]
    assert first == second
    fresh = [ev.to_json() for _, ev in _feed(registry.create(det_id), wins)]
    assert first == fresh


@pytest.mark.parametrize("det_id", DETECTOR_IDS)
def test_no_wall_clock(det_id, monkeypatch):
    def boom(*a, **k):
        raise AssertionError("detectors must take time from the data, not the clock")

    for name in ("time", "monotonic", "monotonic_ns", "time_ns"):
        monkeypatch.setattr(time, name, boom)
    det = registry.create(det_id)
    _feed(det, _windows())


@pytest.mark.parametrize("det_id", DETECTOR_IDS)
def test_independent_instances(det_id):
    """No global state: a second instance fed another stream does not change the first's output."""
    wins = _windows()
    ref = [ev.to_json() for _, ev in _feed(registry.create(det_id), wins)]
    a, b = registry.create(det_id), registry.create(det_id)
    shift = 1000 * NS_PER_S
    out_a = []
    for w in wins:
        for det, win in ((a, w), (b, Window(t_ns=w.t_ns + shift, observation=w.observation, audio=w.audio))):
            if det.modality == "video" and win.observation is None:
                continue
            if det.modality == "audio" and win.audio is None:
                continue
            ev = det.process(win)
            if det is a and ev is not None:
                out_a.append(ev.to_json())
    assert out_a == ref

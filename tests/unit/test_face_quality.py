"""The face presence/quality detector names each problem in plain words, and only real ones."""

from __future__ import annotations

from interview_guard.core.types import NS_PER_S
from interview_guard.detectors.contract import Window
from interview_guard.detectors.face_quality import FaceQualityDetector
from tests.unit.synthetic import scripted_observations


def _run():
    det = FaceQualityDetector()
    out = []
    for o in scripted_observations():
        ev = det.process(Window(t_ns=o.t_ns, observation=o))
        if ev is not None:
            out.append(ev)
    return out


def _first(evs, code):
    hits = [e for e in evs if e.code == code]
    assert hits, f"no '{code}' evidence; got {[e.code for e in evs]}"
    return hits[0]


def test_good_face_gives_no_quality_complaint():
    evs = [e for e in _run() if e.t_end_ns < 3 * NS_PER_S]
    assert evs == []


def test_each_problem_is_reported_in_its_segment():
    evs = _run()
    spans = {"no_face": (3, 5), "face_small": (5, 7), "face_blurred": (7, 9), "face_turned": (9, 10.5),
             "frozen": (10.5, 12.5), "several_faces": (12.5, 14)}
    for code, (a, b) in spans.items():
        e = _first(evs, code)
        assert a * NS_PER_S <= e.t_start_ns and e.t_end_ns <= (b + 0.15) * NS_PER_S, (code, e)
        assert e.llr == 0.0 and e.kind == "quality"


def test_reasons_are_plain_sentences_with_a_next_step():
    evs = _run()
    assert "move closer" in _first(evs, "face_small").reason
    assert "No face is visible" in _first(evs, "no_face").reason
    assert "frozen" in _first(evs, "frozen").reason
    assert "someone else" in _first(evs, "several_faces").reason
    for e in evs:
        assert "fake" not in e.reason.lower(), "quality notes never accuse"


def test_brief_glitches_are_not_reported():
    """A single frame without a face (a blink of the detector) is not a problem worth showing."""
    obs = scripted_observations()
    det = FaceQualityDetector()
    good = [o for o in obs if o.t_ns < 3 * NS_PER_S]
    empty = next(o for o in obs if 3 * NS_PER_S <= o.t_ns < 5 * NS_PER_S)
    seq = good[:10] + [empty] + good[11:20]
    evs = [det.process(Window(t_ns=o.t_ns, observation=o)) for o in seq]
    assert all(e is None for e in evs)


def test_problem_is_repeated_only_every_repeat_interval():
    det = FaceQualityDetector()
    obs = [o for o in scripted_observations() if 3 * NS_PER_S <= o.t_ns < 5 * NS_PER_S]
    evs = [e for o in obs if (e := det.process(Window(t_ns=o.t_ns, observation=o)))]
    assert len(evs) == 1

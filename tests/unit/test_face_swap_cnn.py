"""The trained face-swap detector: quality gate, stream-time schedule, and it sees a paste-back.

Runs the shipped ONNX (models/face_swap_cnn.onnx) on the scripted astronaut observations; the
pseudo-swap is built with the project's own generator (interview_guard.training.pseudo_fakes,
numpy/OpenCV only), the way Deep-Live-Cam pastes a 128-px face back through its fixed ellipse.
"""

from __future__ import annotations

import numpy as np
import pytest

from interview_guard.core.types import NS_PER_S, Observation, VideoFrame
from interview_guard.detectors.contract import Window
from interview_guard.detectors.face_swap_cnn import FaceSwapCNNDetector
from interview_guard.perception.crops import aligned_face
from interview_guard.training import pseudo_fakes as pf
from tests.unit.synthetic import astronaut, face_mesh, make_face, scripted_observations


@pytest.fixture(scope="module")
def det() -> FaceSwapCNNDetector:
    return FaceSwapCNNDetector()


def _segment(a: float, b: float) -> list[Observation]:
    return [o for o in scripted_observations() if a * NS_PER_S <= o.t_ns < b * NS_PER_S]


def _run(det, obs):
    det.reset()
    return [e for o in obs if (e := det.process(Window(t_ns=o.t_ns, observation=o))) is not None]


@pytest.mark.parametrize("span,what", [((3, 5), "no face"), ((5, 7), "small face"), ((7, 9), "blurred face"),
                                       ((9, 10.5), "turned face")])
def test_abstains_on_poor_faces(det, span, what):
    evs = _run(det, _segment(*span))
    assert evs == [], f"{what}: expected no evidence, got {evs}"
    assert det.n_inferences == 0, f"{what}: the model should not even run"


def test_good_face_reports_about_once_per_second_and_runs_at_most_5_hz(det):
    obs = [o for o in scripted_observations(fps=30.0) if o.t_ns < 3 * NS_PER_S]
    evs = _run(det, obs)
    assert 2 <= len(evs) <= 3, [e.t_end_ns for e in evs]
    gaps = np.diff([e.t_end_ns for e in evs]) / NS_PER_S
    assert np.all(gaps >= 0.95)
    assert det.n_inferences <= 3 * 5 + 1            # decimated by stream time, not per frame
    for e in evs:
        assert e.kind == "risk" and 0 < e.quality <= 1 and np.isfinite(e.llr)
        assert e.t_end_ns - e.t_start_ns <= 2 * NS_PER_S
        assert "model score" in e.reason and "fake" not in e.reason.lower()


def _obs(img: np.ndarray, lm: np.ndarray, t_ns: int, i: int) -> Observation:
    face = make_face(lm, img)
    return Observation(frame=VideoFrame(t_ns=t_ns, index=i, image=img), faces=(face,), hands=(), hands_ran=False,
                       frame_diff=1.0)


def _pseudo_swap(img: np.ndarray, lm: np.ndarray, seed: int) -> np.ndarray:
    """A Deep-Live-Cam-like paste: 128-px bottleneck, softened, colour-shifted, fixed ellipse."""
    rng = np.random.default_rng(seed)
    recipe = pf.FakeRecipe(kind="swap_self", mask="dlc_ellipse", opacity=1.0, params={
        "colour": pf.sample_colour(rng, 0.8), "smooth": 0.8, "rct": False, "stale_k": 0,
        "stale_geo": {"shift": 0.0, "rot_deg": 0.0, "scale": 0.0}, "stale_seed": 0, "enhance": False})
    fake, _ = pf.fake_frame(img, lm, recipe, rng)
    return fake


def test_pseudo_swap_scores_higher_than_the_same_frame_unpasted(det):
    img, lm = astronaut(), face_mesh()
    real = _obs(img, lm, 0, 0)
    real_logit = det.model.logits(aligned_face(real, 128, 0.75)[None])[0]
    fake_logits = [det.model.logits(aligned_face(_obs(_pseudo_swap(img, lm, s), lm, 0, 0), 128, 0.75)[None])[0]
                   for s in range(5)]
    assert np.mean(fake_logits) > real_logit, (real_logit, fake_logits)

    # and through the detector over 3 s of stream (10 fps)
    def stream(make):
        return [_obs(make(i), lm, int(i * NS_PER_S / 10), i) for i in range(30)]

    ev_real = _run(det, stream(lambda i: img))
    ev_fake = _run(det, stream(lambda i: _pseudo_swap(img, lm, i % 5)))
    assert ev_real and ev_fake
    assert ev_fake[-1].llr > ev_real[-1].llr
    assert ev_fake[-1].details["score"] > ev_real[-1].details["score"]


def test_calibration_comes_from_the_manifest(det):
    from interview_guard.perception.model_store import ModelStore

    cal = ModelStore().row("face_swap_cnn").extra["calibration"]
    assert det.model.slope == pytest.approx(cal["slope"]) and det.model.intercept == pytest.approx(cal["intercept"])
    assert det.model.slope > 0, "a higher logit must mean more likely swapped"

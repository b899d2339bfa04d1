"""Trained face-swap detector: a small CNN on the aligned face crop, run with onnxruntime.

The model (``models/face_swap_cnn.onnx``, trained by the project from real faces and
pseudo-fakes; see ``models/README.md``) looks at the face with its jaw line, temples and
forehead, where face-swap tools blend a generated face into the camera image. It returns a
logit; the manifest row's ``calibration`` turns it into a log-likelihood ratio (fake vs genuine).

Schedule: time comes only from ``window.t_ns``. The model runs at most every ``infer_every_s``
(0.2 s) of stream time on faces that pass the quality gate (big enough, sharp enough, facing the
camera), and about once per ``emit_every_s`` (1 s) the detector reports the mean LLR of the
scores of the last ``window_s`` (2 s). On a poor face it abstains (returns None).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from interview_guard.core.errors import ModelError
from interview_guard.core.types import NS_PER_S, Evidence, Observation
from interview_guard.detectors.contract import Detector, Window
from interview_guard.detectors.registry import register
from interview_guard.perception.crops import aligned_face
from interview_guard.perception.model_store import ModelStore

MODEL_ID = "face_swap_cnn"
CROP_SIZE = 128
CROP_SCALE = 0.75


@dataclass(frozen=True)
class FaceSwapCNNConfig:
    min_face_px: float = 80.0        # forehead-to-chin, px
    min_sharpness: float = 1.5       # face_geometry.sharpness units
    max_yaw_deg: float = 35.0
    max_pitch_deg: float = 35.0
    infer_every_s: float = 0.2       # run the model at most this often (stream time)
    emit_every_s: float = 1.0
    window_s: float = 2.0
    min_scores: int = 3              # scores in the window needed to say anything
    llr_cap: float = 4.0             # |llr| reported at most this (one model, one cue)
    flag_llr: float = 0.0            # above this the reason describes blending


def _reason_blended(score: float, window_s: float) -> str:
    return ("The face texture around the jaw and forehead looks blended, as face-swap tools leave it "
            f"(model score {score:.2f} over the last {window_s:.0f} s). "
            "Ask for a hand wave in front of the face to check.")


def _reason_consistent(score: float, window_s: float) -> str:
    return ("The face texture around the jaw and forehead looks like one continuous camera image "
            f"(model score {score:.2f} over the last {window_s:.0f} s).")


class FaceSwapModel:
    """The ONNX session plus its calibration, loaded through the model store (sha256 checked)."""

    def __init__(self, store: ModelStore | None = None, model_id: str = MODEL_ID) -> None:
        import onnxruntime as ort

        store = store or ModelStore()
        path = store.path(model_id)
        row = store.row(model_id)
        cal = row.extra.get("calibration") or {}
        try:
            self.slope = float(cal["slope"])
            self.intercept = float(cal["intercept"])
        except (KeyError, TypeError, ValueError):
            raise ModelError(f"model '{model_id}' in {store.dir / 'manifest.json'} has no calibration "
                             "(slope, intercept)", hint="restore models/manifest.json") from None
        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            raise ModelError(f"model file {path} ({model_id}) is not a loadable ONNX model ({e})",
                             hint="restore it with `git checkout -- models/`") from None
        inp = self.session.get_inputs()[0]
        shape = list(inp.shape)
        if len(shape) != 4 or shape[1:] != [3, CROP_SIZE, CROP_SIZE]:
            raise ModelError(f"model file {path} ({model_id}) expects input {shape}, "
                             f"not [N, 3, {CROP_SIZE}, {CROP_SIZE}]", hint="restore it with `git checkout -- models/`")
        self.input_name = inp.name

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """(N, 128, 128, 3) uint8 RGB aligned crops -> (N,) float logits."""
        x = crops.astype(np.float32).transpose(0, 3, 1, 2) * np.float32(1.0 / 255.0)
        return self.session.run(None, {self.input_name: np.ascontiguousarray(x)})[0][:, 0]

    def llr(self, logit: float) -> float:
        return self.slope * float(logit) + self.intercept


@register
class FaceSwapCNNDetector(Detector):
    id = "face_swap_cnn"
    version = "1"
    corpus_trained = True       # the CNN trained on corpus real faces (fusion slope capped at 1)
    modality = "video"
    needs = frozenset({"face"})
    kind = "risk"
    description = ("A small trained CNN looks for a blended face (texture and colour seams along the jaw, "
                   "temples and forehead, a softened or over-sharpened face) in the aligned face crop.")

    def __init__(self, config: FaceSwapCNNConfig | None = None, *, model: FaceSwapModel | None = None) -> None:
        self.config = config or FaceSwapCNNConfig()
        self.model = model or FaceSwapModel()
        self.reset()

    def reset(self) -> None:
        self._last_infer: int | None = None
        self._last_emit: int | None = None
        self._scores: deque[tuple[int, float, float]] = deque()   # (t_ns, llr, quality)
        self.n_inferences = 0

    def usable(self, obs: Observation) -> float:
        """Quality 0..1 of the primary face for this model (0 = abstain)."""
        c = self.config
        f = obs.face
        if f is None or f.size_px < c.min_face_px or f.sharpness < c.min_sharpness:
            return 0.0
        if abs(f.pose.yaw) > c.max_yaw_deg or abs(f.pose.pitch) > c.max_pitch_deg:
            return 0.0
        q_size = min(1.0, 0.5 + 0.5 * (f.size_px - c.min_face_px) / c.min_face_px)
        q_pose = 1.0 - 0.5 * abs(f.pose.yaw) / c.max_yaw_deg
        return float(max(0.05, min(1.0, q_size * q_pose)))

    def score(self, obs: Observation) -> float | None:
        """The model's logit on this observation's primary face (None without a face)."""
        crop = aligned_face(obs, CROP_SIZE, CROP_SCALE)
        if crop is None:
            return None
        self.n_inferences += 1
        return float(self.model.logits(crop[None])[0])

    def process(self, window: Window) -> Evidence | None:
        obs = window.observation
        if obs is None:
            return None
        c = self.config
        t = window.t_ns
        win_ns = int(c.window_s * NS_PER_S)
        while self._scores and self._scores[0][0] < t - win_ns:
            self._scores.popleft()
        q = self.usable(obs)
        if q <= 0.0:
            return None
        if self._last_infer is None or t - self._last_infer >= int(c.infer_every_s * NS_PER_S) - NS_PER_S // 1000:
            logit = self.score(obs)
            if logit is None or not math.isfinite(logit):
                return None
            self._last_infer = t
            self._scores.append((t, self.model.llr(logit), q))
        if len(self._scores) < c.min_scores:
            return None
        if self._last_emit is not None and t - self._last_emit < int(c.emit_every_s * NS_PER_S) - NS_PER_S // 1000:
            return None
        self._last_emit = t
        llrs = np.array([s[1] for s in self._scores])
        quals = np.array([s[2] for s in self._scores])
        llr = float(np.clip(llrs.mean(), -c.llr_cap, c.llr_cap))
        score = 1.0 / (1.0 + math.exp(-llr))
        expected = max(1.0, c.window_s / c.infer_every_s)
        quality = float(min(1.0, quals.mean() * min(1.0, len(llrs) / (0.5 * expected))))
        reason = (_reason_blended if llr > c.flag_llr else _reason_consistent)(score, c.window_s)
        return Evidence(detector=self.id, t_start_ns=int(self._scores[0][0]), t_end_ns=t, llr=llr,
                        quality=quality, reason=reason, kind=self.kind,
                        code="blended_face" if llr > c.flag_llr else "consistent_face",
                        details={"score": round(score, 4), "llr_mean": round(float(llrs.mean()), 4),
                                 "n_scores": int(len(llrs))})

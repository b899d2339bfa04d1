"""Per-detector calibration: a detector's raw ``llr`` → a calibrated log-likelihood ratio.

Why. Every detector proposes an ``llr`` (fake vs genuine), but most are *priors* (the
weight-free detectors map a z-score through a stated two-Gaussian model) or were fitted on
other data. Summing them as if they were true LLRs over-counts. Here each detector gets one
Platt map fitted on labelled corpus windows (detection-methods.md §9.1)::

    llr_cal = clip(a · x + b, lo, hi)        x = the Evidence's own llr, a ≥ 0

with the training prior removed (classes are balanced by weight, so ``a·x + b`` is an LLR,
not a posterior log-odds). Abstention: evidence with ``quality < min_quality`` (or kind
"quality") contributes nothing. Clipping (§9.1.3): passive detectors [-1.0, +2.3] nats,
challenge results [-1.5, +4.6].

Fitting details (``fit_platt``):

* unit = one Evidence (a detector window); each **clip** gets the same total weight (a long clip
  must not dominate), then both classes get the same total weight;
* a Gaussian prior on the slope (sd 1, effective sample size = number of clips) keeps a
  detector that separates only a handful of clips from getting a steep, over-confident map;
* the slope is constrained to [0, 3]: a detector that is *anti*-informative on the corpus gets
  a = 0 (it is switched off, and the file says so) instead of a flipped sign; to [0, 1] for a
  detector whose model trained on this corpus (``Detector.corpus_trained``): its scores here are
  in-sample, so its own held-out calibration may be shrunk but never amplified;
* quality is reported as C_llr (Brümmer & du Preez 2006, bits; 1.0 = useless, 0 = perfect)
  before and after, with a grouped cross-validated figure when groups are given.

The table lives in ``models/calibration.json`` (one entry per detector id with the detector
version it was fitted for, plus the fusion thresholds), written by ``interview-guard calibrate``.
A detector without an entry, or whose version changed, falls back to its own llr shrunk by
``UNCALIBRATED_SHRINK`` and clipped, and is reported as uncalibrated.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from interview_guard.core.errors import ConfigError
from interview_guard.core.types import Evidence

SCHEMA = 1
CALIBRATION_FILE = "calibration.json"
PASSIVE_CLIP = (-1.0, 2.3)
CHALLENGE_CLIP = (-1.5, 4.6)
UNCALIBRATED_SHRINK = 0.5
DEFAULT_MIN_QUALITY = 0.2
SLOPE_MAX = 3.0
CHALLENGE_PREFIX = "challenge_"


def is_challenge(detector_id: str) -> bool:
    return detector_id.startswith(CHALLENGE_PREFIX)


def default_calibration_path() -> Path:
    """``$IG_CALIBRATION`` if set, else ``calibration.json`` in the models folder."""
    env = os.environ.get("IG_CALIBRATION")
    if env:
        return Path(env)
    from interview_guard.perception.model_store import default_models_dir

    return default_models_dir() / CALIBRATION_FILE


@dataclass(frozen=True)
class DetectorCalibration:
    """One detector's map. ``weight`` (0, 1] discounts correlated detectors; ``group`` is the
    modality group used for the "two independent modalities" rule (video / audio / av / challenge)."""

    detector: str
    version: str
    slope: float = 1.0
    intercept: float = 0.0
    lo: float = PASSIVE_CLIP[0]
    hi: float = PASSIVE_CLIP[1]
    min_quality: float = DEFAULT_MIN_QUALITY
    weight: float = 1.0
    group: str = "video"
    method: str = "platt"
    stats: Mapping[str, Any] = field(default_factory=dict)

    def apply(self, x: float) -> float:
        v = self.slope * float(x) + self.intercept
        return float(min(self.hi, max(self.lo, v)))

    def to_json(self) -> dict:
        d = asdict(self)
        d.pop("detector")
        d["stats"] = dict(self.stats)
        return d


@dataclass(frozen=True)
class Calibration:
    """The whole table: detector maps + fusion parameters (``FusionConfig`` fields) + provenance."""

    detectors: Mapping[str, DetectorCalibration] = field(default_factory=dict)
    fusion: Mapping[str, Any] = field(default_factory=dict)
    meta: Mapping[str, Any] = field(default_factory=dict)
    path: str = ""

    # -- applying ---------------------------------------------------------------------------
    def entry(self, detector_id: str, version: str | None = None) -> DetectorCalibration | None:
        """The fitted entry, or None when missing or fitted for another detector version."""
        e = self.detectors.get(detector_id)
        if e is None:
            return None
        if version is not None and str(version) != str(e.version):
            return None
        return e

    def status(self, detector_id: str, version: str | None = None) -> str:
        """"calibrated", "version mismatch" or "uncalibrated" (for reports)."""
        e = self.detectors.get(detector_id)
        if e is None:
            return "uncalibrated"
        if version is not None and str(version) != str(e.version):
            return "version mismatch"
        return "calibrated"

    def calibrate(self, ev: Evidence, version: str | None = None) -> float | None:
        """Calibrated LLR of one Evidence, or None when it abstains (quality evidence, poor input)."""
        if ev.kind != "risk" or not math.isfinite(ev.llr):
            return None
        challenge = is_challenge(ev.detector)
        e = self.entry(ev.detector, version)
        if challenge:
            if ev.quality <= 0:
                return None
            result = str((ev.details or {}).get("result", ""))
            if result == "inconclusive":
                return 0.0
            if e is not None:
                return e.apply(ev.llr)
            return float(min(CHALLENGE_CLIP[1], max(CHALLENGE_CLIP[0], ev.llr)))
        if e is not None:
            if ev.quality < e.min_quality:
                return None
            return e.apply(ev.llr)
        if ev.quality < DEFAULT_MIN_QUALITY:
            return None
        return float(min(PASSIVE_CLIP[1], max(PASSIVE_CLIP[0], UNCALIBRATED_SHRINK * ev.llr)))

    def weight(self, detector_id: str, version: str | None = None, *, n_in_group: int = 1) -> float:
        e = self.entry(detector_id, version)
        if e is not None:
            return float(e.weight)
        if is_challenge(detector_id):
            return 1.0
        # §9.2 starting point: 1.0 alone in its modality, 0.5 when it shares it with others
        return 1.0 if n_in_group <= 1 else 0.5

    def group(self, detector_id: str, modality: str = "video") -> str:
        if is_challenge(detector_id):
            return "challenge"
        e = self.detectors.get(detector_id)
        return e.group if e is not None else (modality or "video")

    # -- files ------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"schema": SCHEMA, "meta": dict(self.meta), "fusion": dict(self.fusion),
                "detectors": {k: v.to_json() for k, v in sorted(self.detectors.items())}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], path: str = "") -> "Calibration":
        if not isinstance(data, Mapping) or int(data.get("schema", 0)) != SCHEMA:
            raise ConfigError(f"calibration file {path or '(data)'} has an unknown schema "
                              f"({data.get('schema') if isinstance(data, Mapping) else type(data).__name__})",
                              hint="re-create it with `interview-guard calibrate --corpus DIR`")
        dets = {}
        for det_id, d in (data.get("detectors") or {}).items():
            known = {f for f in DetectorCalibration.__dataclass_fields__} - {"detector"}
            dets[det_id] = DetectorCalibration(detector=det_id, **{k: v for k, v in d.items() if k in known})
        return cls(detectors=dets, fusion=dict(data.get("fusion") or {}), meta=dict(data.get("meta") or {}),
                   path=path)

    @classmethod
    def load(cls, path: str | Path | None = None, *, missing_ok: bool = True) -> "Calibration":
        """Read the table; a missing file gives the empty (uncalibrated) table when ``missing_ok``.
        A damaged file raises ``ConfigError`` naming it and the fix."""
        p = Path(path) if path else default_calibration_path()
        if not p.is_file():
            if missing_ok:
                return cls(path=str(p))
            raise ConfigError(f"calibration file {p} does not exist",
                              hint="create it with `interview-guard calibrate --corpus DIR`")
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError) as e:
            raise ConfigError(f"calibration file {p} is not readable JSON ({e})",
                              hint="restore it with `git checkout -- models/` or re-run `interview-guard calibrate`") from None
        try:
            return cls.from_json(data, str(p))
        except (TypeError, ValueError) as e:
            raise ConfigError(f"calibration file {p} has a bad entry ({e})",
                              hint="re-run `interview-guard calibrate --corpus DIR`") from None

    def save(self, path: str | Path | None = None) -> Path:
        from interview_guard.pipeline.outputs import atomic_write_json

        p = Path(path) if path else default_calibration_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(p, self.to_json())
        return p


# ----------------------------------------------------------------------------- fitting


def _softplus(z: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, z)


def cllr(llr_genuine, llr_fake, w_genuine=None, w_fake=None) -> float:
    """Brümmer's C_llr in bits (weighted means); 1.0 for an llr that is always 0."""
    g = np.asarray(llr_genuine, np.float64)
    f = np.asarray(llr_fake, np.float64)
    if len(g) == 0 or len(f) == 0:
        return math.nan
    wg = np.ones_like(g) if w_genuine is None else np.asarray(w_genuine, np.float64)
    wf = np.ones_like(f) if w_fake is None else np.asarray(w_fake, np.float64)
    cg = float(np.sum(wg * _softplus(g)) / np.sum(wg))
    cf = float(np.sum(wf * _softplus(-f)) / np.sum(wf))
    return 0.5 * (cg + cf) / math.log(2.0)


@dataclass(frozen=True)
class PlattFit:
    slope: float
    intercept: float
    n_genuine: int
    n_fake: int
    clips_genuine: int
    clips_fake: int
    cllr_raw: float
    cllr_cal: float
    cllr_cv: float
    auc_window: float
    note: str = ""


def _clip_weights(clips: np.ndarray) -> np.ndarray:
    """1 / (windows in the same clip): every clip has total weight 1."""
    _, inv, counts = np.unique(clips, return_inverse=True, return_counts=True)
    return 1.0 / counts[inv]


def _fit_ab(x: np.ndarray, y: np.ndarray, w: np.ndarray, n_eff: float, lo: float, hi: float,
            slope_max: float = SLOPE_MAX) -> tuple[float, float]:
    from scipy.optimize import minimize

    w = w.astype(np.float64).copy()
    for cls in (0, 1):  # balance the classes: the fitted map is an LLR (prior 1:1)
        m = y == cls
        w[m] = w[m] / w[m].sum()
    s = 2.0 * y - 1.0
    lam = 2.0 / max(1.0, n_eff)          # slope prior N(1, 1) on the clip scale

    def loss(p):
        a, b = p
        z = s * (a * x + b)
        val = float(np.sum(w * _softplus(-z))) + 0.5 * lam * (a - 1.0) ** 2
        sig = 1.0 / (1.0 + np.exp(z))      # d softplus(-z)/dz = -sigmoid(-z)
        ga = float(np.sum(w * -sig * s * x)) + lam * (a - 1.0)
        gb = float(np.sum(w * -sig * s))
        return val, np.array([ga, gb])

    res = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, slope_max), (-10.0, 10.0)])
    a, b = (float(v) for v in res.x)
    return a, b


def fit_platt(x, y, clips, *, groups=None, lo: float = PASSIVE_CLIP[0], hi: float = PASSIVE_CLIP[1],
              n_folds: int = 5, slope_max: float = SLOPE_MAX) -> PlattFit:
    """Fit ``llr = clip(a·x + b)`` on windows ``x`` with labels ``y`` (1 = fake) from ``clips``.

    ``groups`` (same length; e.g. the identity or PAIR id of each window's clip) enables a
    grouped cross-validated C_llr: every fold leaves whole groups out.
    """
    from interview_guard.evaluation.metrics import auc

    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.int64)
    clips = np.asarray(clips)
    ok = np.isfinite(x)
    x, y, clips = x[ok], y[ok], clips[ok]
    groups = None if groups is None else np.asarray(groups)[ok]
    n_g, n_f = int((y == 0).sum()), int((y == 1).sum())
    cg = len(np.unique(clips[y == 0])) if n_g else 0
    cf = len(np.unique(clips[y == 1])) if n_f else 0
    if n_g < 5 or n_f < 5 or cg < 2 or cf < 2:
        return PlattFit(0.0, 0.0, n_g, n_f, cg, cf, math.nan, math.nan, math.nan, math.nan,
                        note="too few windows or clips of one class to calibrate: switched off")
    w = _clip_weights(clips)
    if float(np.std(x)) < 1e-3:
        return PlattFit(UNCALIBRATED_SHRINK, 0.0, n_g, n_f, cg, cf, math.nan, math.nan, math.nan, 0.5,
                        note="its output never varied on the corpus: kept the uncalibrated map (0.5·llr)")
    a, b = _fit_ab(x, y, w, cg + cf, lo, hi, slope_max)
    cal = np.clip(a * x + b, lo, hi)
    raw_c = cllr(np.clip(x[y == 0], -20, 20), np.clip(x[y == 1], -20, 20), w[y == 0], w[y == 1])
    cal_c = cllr(cal[y == 0], cal[y == 1], w[y == 0], w[y == 1])
    cv_c = math.nan
    if groups is not None:
        ug = np.unique(groups)
        if len(ug) >= 3:
            rng = np.random.default_rng(0)
            perm = rng.permutation(ug)
            folds = np.array_split(perm, min(n_folds, len(ug)))
            cv = np.full(len(x), np.nan)
            for fold in folds:
                test = np.isin(groups, fold)
                tr = ~test
                if (y[tr] == 0).sum() < 5 or (y[tr] == 1).sum() < 5:
                    continue
                ta, tb = _fit_ab(x[tr], y[tr], _clip_weights(clips[tr]),
                                 len(np.unique(clips[tr])), lo, hi, slope_max)
                cv[test] = np.clip(ta * x[test] + tb, lo, hi)
            m = np.isfinite(cv)
            if m.any() and (y[m] == 0).any() and (y[m] == 1).any():
                cv_c = cllr(cv[m & (y == 0)], cv[m & (y == 1)], w[m & (y == 0)], w[m & (y == 1)])
    note = ""
    if a <= 1e-3:
        note = "no separating power on the corpus (slope 0): contributes nothing until re-fitted"
    return PlattFit(a, b, n_g, n_f, cg, cf, raw_c, cal_c, cv_c, auc(x[y == 0], x[y == 1]), note)


def correlation_weights(series: Mapping[str, Mapping[tuple, float]], groups: Mapping[str, str],
                        *, min_pairs: int = 20) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Down-weight correlated detectors of one modality group.

    ``series[det][(clip, hop)] = value`` holds each detector's per-hop calibrated LLR with the
    class mean already removed (class-conditional correlation: what naive-Bayes summing gets
    wrong). For detectors d in the same group, ``w_d = 1 / Σ_j max(0, ρ_dj)`` (ρ_dd = 1): n
    independent detectors keep weight 1; n copies of one detector share the weight of one.
    Returns (weights, correlation matrix as nested dict).
    """
    dets = sorted(series)
    rho: dict[str, dict[str, float]] = {d: {} for d in dets}
    for i, a in enumerate(dets):
        rho[a][a] = 1.0
        for b in dets[i + 1:]:
            keys = set(series[a]) & set(series[b])
            r = 0.0
            if len(keys) >= min_pairs:
                va = np.array([series[a][k] for k in keys])
                vb = np.array([series[b][k] for k in keys])
                if va.std() > 1e-9 and vb.std() > 1e-9:
                    r = float(np.corrcoef(va, vb)[0, 1])
            rho[a][b] = rho[b][a] = round(r, 4)
    weights = {}
    for d in dets:
        tot = sum(max(0.0, rho[d][j]) for j in dets if groups.get(j) == groups.get(d))
        weights[d] = round(float(min(1.0, 1.0 / max(1.0, tot))), 4)
    return weights, rho


def calibrated_values(cal: Calibration, evidence: Iterable[Evidence], versions: Mapping[str, str] | None = None
                      ) -> list[tuple[Evidence, float]]:
    out = []
    for e in evidence:
        v = cal.calibrate(e, (versions or {}).get(e.detector))
        if v is not None:
            out.append((e, v))
    return out

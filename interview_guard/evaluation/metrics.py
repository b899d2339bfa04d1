"""Clip-level detection metrics with numpy only (no scikit-learn).

Convention everywhere: **positive = fake**, a higher score means "more fake", a clip is flagged
when ``score >= threshold`` on the ROC curve. ``real`` / ``fake`` are 1-D arrays of clip scores;
NaN ("the detector gave no score") is dropped by the callers in ``binary_metrics`` and counted
as lost coverage, never imputed.

* ``auc``: Mann–Whitney U / (n_real·n_fake); a tie between a real and a fake counts 0.5.
* ``eer``: where the false-alarm rate equals the miss rate, linearly interpolated on the ROC.
* ``tpr_at_fpr``: the best true-positive rate among ROC points with FPR ≤ target.
* ``threshold_at_fpr``: the threshold calibrated on genuine clips only: flag ``score > thr``
  lets at most ``floor(target·n_real)`` genuine clips through (with fewer than 100 genuine
  clips, a 1 % target therefore means *no* false alarm on them).
* Bootstrap CIs are stratified (reals and fakes resampled separately), seeded, percentile.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.stats import rankdata

DEFAULT_N_BOOT = 1000
DEFAULT_SEED = 0


def _clean(a) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    return a[np.isfinite(a)]


def auc(real, fake) -> float:
    """Probability that a random fake scores above a random real (ties count 0.5); NaN if a class is empty."""
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return math.nan
    ranks = rankdata(np.concatenate([r, f]))  # average ranks handle ties as 0.5
    u = ranks[len(r):].sum() - len(f) * (len(f) + 1) / 2.0
    return float(u / (len(r) * len(f)))


def roc_curve(real, fake) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``; point i flags ``score >= thresholds[i]``; starts at (0, 0) with +inf."""
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([np.inf, -np.inf])
    s = np.concatenate([r, f])
    y = np.concatenate([np.zeros(len(r)), np.ones(len(f))])
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    distinct = np.where(np.diff(s))[0]
    idx = np.r_[distinct, len(s) - 1]
    tps = np.cumsum(y)[idx]
    fps = (idx + 1) - tps
    tpr = np.r_[0.0, tps / len(f)]
    fpr = np.r_[0.0, fps / len(r)]
    thr = np.r_[np.inf, s[idx]]
    return fpr, tpr, thr


def eer(real, fake) -> float:
    """Equal error rate (FPR = 1 − TPR), interpolated between ROC points; NaN if a class is empty."""
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return math.nan
    fpr, tpr, _ = roc_curve(r, f)
    d = (1.0 - tpr) - fpr  # decreasing from 1 at (0,0) to -1 at (1,1)
    i = int(np.argmax(d <= 0))
    if i == 0:
        return float(fpr[0])
    d0, d1 = d[i - 1], d[i]
    t = d0 / (d0 - d1) if d0 != d1 else 0.0
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tpr_at_fpr(real, fake, target: float = 0.01) -> float:
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return math.nan
    fpr, tpr, _ = roc_curve(r, f)
    ok = fpr <= target + 1e-12
    return float(tpr[ok].max())


def threshold_at_fpr(real, target: float = 0.01) -> float:
    """Score threshold calibrated on genuine clips only: ``score > thr`` flags ≤ floor(target·n) of them.

    Returns NaN with no genuine scores. It is the (k+1)-th highest genuine score, k = floor(target·n).
    """
    r = _clean(real)
    if len(r) == 0:
        return math.nan
    k = int(math.floor(target * len(r) + 1e-9))
    desc = np.sort(r)[::-1]
    return float(desc[k]) if k < len(desc) else -math.inf


def rate_above(scores, thr: float) -> float:
    s = _clean(scores)
    if len(s) == 0 or math.isnan(thr):
        return math.nan
    return float(np.mean(s > thr))


def _auc_matrix(r: np.ndarray, f: np.ndarray) -> np.ndarray:
    """C[i, j] = 1 if fake j > real i, 0.5 on ties, else 0 (shape n_real × n_fake)."""
    return (f[None, :] > r[:, None]).astype(np.float64) + 0.5 * (f[None, :] == r[:, None])


def bootstrap_auc(real, fake, *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED) -> np.ndarray:
    """AUC of ``n_boot`` stratified resamples (reals and fakes resampled separately, seeded)."""
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return np.full(n_boot, np.nan)
    rng = np.random.default_rng(seed)
    out = np.empty(n_boot)
    if len(r) * len(f) <= 4_000_000:
        c = _auc_matrix(r, f)
        chunk = max(1, min(n_boot, 2_000_000 // max(1, len(r) + len(f))))
        for a in range(0, n_boot, chunk):
            b = min(n_boot, a + chunk)
            wr = rng.multinomial(len(r), np.full(len(r), 1.0 / len(r)), size=b - a).astype(np.float64)
            wf = rng.multinomial(len(f), np.full(len(f), 1.0 / len(f)), size=b - a).astype(np.float64)
            out[a:b] = np.einsum("bi,ij,bj->b", wr, c, wf) / (len(r) * len(f))
        return out
    for b in range(n_boot):  # very large sets: rank-based per resample
        out[b] = auc(rng.choice(r, len(r)), rng.choice(f, len(f)))
    return out


def bootstrap_stat(fn: Callable[[np.ndarray, np.ndarray], float], real, fake, *, n_boot: int = DEFAULT_N_BOOT,
                   seed: int = DEFAULT_SEED) -> np.ndarray:
    """Any two-sample statistic over stratified resamples (slower than ``bootstrap_auc``)."""
    r, f = _clean(real), _clean(fake)
    if len(r) == 0 or len(f) == 0:
        return np.full(n_boot, np.nan)
    rng = np.random.default_rng(seed)
    return np.array([fn(rng.choice(r, len(r)), rng.choice(f, len(f))) for _ in range(n_boot)])


def percentile_ci(samples, alpha: float = 0.05) -> tuple[float, float]:
    s = _clean(samples)
    if len(s) == 0:
        return (math.nan, math.nan)
    lo, hi = np.percentile(s, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return (float(lo), float(hi))


def auc_ci(real, fake, *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED,
           alpha: float = 0.05) -> tuple[float, float]:
    return percentile_ci(bootstrap_auc(real, fake, n_boot=n_boot, seed=seed), alpha)


def spearman(x, y) -> float:
    """Spearman rank correlation over pairs where both are finite; NaN with < 3 pairs or a constant side."""
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3:
        return math.nan
    rx, ry = rankdata(x), rankdata(y)
    if np.all(rx == rx[0]) or np.all(ry == ry[0]):
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


# --- same-source (grouped) comparisons --------------------------------------------------------------

def grouped_auc(real, real_groups, fake, fake_groups) -> tuple[float, int, int]:
    """AUC counting only real–fake comparisons inside the same group (a PAIR or PAIRSET id).

    Returns ``(auc, n_groups_used, n_comparisons)``. For one-to-one PAIRs it is the fraction of
    pairs in which the fake clip scores higher than its own real half (ties 0.5).
    """
    per = _grouped_counts(real, real_groups, fake, fake_groups)
    if not per:
        return (math.nan, 0, 0)
    wins = sum(w for w, _ in per.values())
    n = sum(c for _, c in per.values())
    return (wins / n if n else math.nan, len(per), int(n))


def _grouped_counts(real, real_groups, fake, fake_groups) -> dict[str, tuple[float, int]]:
    r = np.asarray(real, dtype=np.float64)
    f = np.asarray(fake, dtype=np.float64)
    rg = np.asarray(real_groups, dtype=object)
    fg = np.asarray(fake_groups, dtype=object)
    out: dict[str, tuple[float, int]] = {}
    for g in sorted({x for x in rg if x} & {x for x in fg if x}):
        rs = r[(rg == g) & np.isfinite(r)]
        fs = f[(fg == g) & np.isfinite(f)]
        if len(rs) and len(fs):
            out[g] = (float(_auc_matrix(rs, fs).sum()), len(rs) * len(fs))
    return out


def grouped_auc_ci(real, real_groups, fake, fake_groups, *, n_boot: int = DEFAULT_N_BOOT,
                   seed: int = DEFAULT_SEED, alpha: float = 0.05) -> tuple[float, float]:
    """Cluster bootstrap: resample whole groups with replacement."""
    per = _grouped_counts(real, real_groups, fake, fake_groups)
    if not per:
        return (math.nan, math.nan)
    w = np.array([v[0] for v in per.values()])
    c = np.array([v[1] for v in per.values()], dtype=np.float64)
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(len(w), np.full(len(w), 1.0 / len(w)), size=n_boot).astype(np.float64)
    return percentile_ci((counts @ w) / (counts @ c), alpha)


# --- everything for one comparison ---------------------------------------------------------------

def binary_metrics(real, fake, *, n_boot: int = DEFAULT_N_BOOT, seed: int = DEFAULT_SEED,
                   target_fpr: float = 0.01) -> dict:
    """All clip-level numbers for one (real set, fake set) comparison; NaN scores = no score.

    Keys: auc, auc_ci, eer, tpr_at_1pct_fpr, threshold_at_1pct_fpr (calibrated on the genuine
    clips), fpr_at_threshold (in-sample, by construction ≤ target), n_real, n_fake (clips that
    got a score), n_real_total, n_fake_total, coverage_real, coverage_fake.
    """
    ra = np.asarray(real, dtype=np.float64).reshape(-1)
    fa = np.asarray(fake, dtype=np.float64).reshape(-1)
    r, f = _clean(ra), _clean(fa)
    thr = threshold_at_fpr(r, target_fpr)
    out = {
        "auc": auc(r, f),
        "auc_ci": list(auc_ci(r, f, n_boot=n_boot, seed=seed)) if len(r) and len(f) else [math.nan, math.nan],
        "eer": eer(r, f),
        "tpr_at_1pct_fpr": tpr_at_fpr(r, f, target_fpr),
        "threshold_at_1pct_fpr": thr,
        "tpr_at_threshold": rate_above(f, thr) if len(r) else math.nan,
        "fpr_at_threshold": rate_above(r, thr) if len(r) else math.nan,
        "n_real": int(len(r)),
        "n_fake": int(len(f)),
        "n_real_total": int(len(ra)),
        "n_fake_total": int(len(fa)),
        "coverage_real": float(len(r) / len(ra)) if len(ra) else math.nan,
        "coverage_fake": float(len(f) / len(fa)) if len(fa) else math.nan,
    }
    return out


def leave_one_source_out_fpr(real, sources, *, target_fpr: float = 0.01) -> dict:
    """How a genuine-calibrated threshold transfers to a genuine source it has not seen.

    For each source: calibrate on the other sources' genuine clips, count false alarms on this
    source's. Returns total false-alarm rate and per-source rates (sources with all genuine
    clips in one source give NaN).
    """
    r = np.asarray(real, dtype=np.float64)
    src = np.asarray(sources, dtype=object)
    ok = np.isfinite(r)
    r, src = r[ok], src[ok]
    per: dict[str, float] = {}
    alarms = 0
    n = 0
    for s in sorted(set(src)):
        inside = src == s
        if inside.all():
            continue
        thr = threshold_at_fpr(r[~inside], target_fpr)
        k = int(np.sum(r[inside] > thr))
        per[str(s)] = k / int(inside.sum())
        alarms += k
        n += int(inside.sum())
    return {"fpr": (alarms / n) if n else math.nan, "per_source": per, "n": n}

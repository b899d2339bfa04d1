"""Small, dependency-free metrics and the Platt calibration fit (numpy only, no torch)."""

from __future__ import annotations

import numpy as np


def auc(neg: np.ndarray, pos: np.ndarray) -> float:
    """ROC AUC that a positive scores above a negative (ties count half)."""
    neg = np.asarray(neg, np.float64).ravel()
    pos = np.asarray(pos, np.float64).ravel()
    if len(neg) == 0 or len(pos) == 0:
        return float("nan")
    allv = np.concatenate([neg, pos])
    order = np.argsort(allv, kind="mergesort")
    ranks = np.empty(len(allv), np.float64)
    sv = allv[order]
    i = 0
    while i < len(sv):                       # average ranks of ties
        j = i
        while j + 1 < len(sv) and sv[j + 1] == sv[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    r_pos = ranks[len(neg):].sum()
    return float((r_pos - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def roc(neg: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) over all thresholds, highest threshold first."""
    neg = np.sort(np.asarray(neg, np.float64))
    pos = np.sort(np.asarray(pos, np.float64))
    th = np.unique(np.concatenate([neg, pos, [np.inf]]))[::-1]
    fpr = np.array([(neg >= t).mean() for t in th])
    tpr = np.array([(pos >= t).mean() for t in th])
    return fpr, tpr


def eer(neg: np.ndarray, pos: np.ndarray) -> float:
    fpr, tpr = roc(neg, pos)
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    return float((fnr[i] + fpr[i]) / 2)


def tpr_at_fpr(neg: np.ndarray, pos: np.ndarray, max_fpr: float = 0.01) -> float:
    """Best TPR with FPR <= max_fpr (with few negatives this means: above every negative)."""
    fpr, tpr = roc(neg, pos)
    ok = fpr <= max_fpr + 1e-12
    return float(tpr[ok].max()) if ok.any() else 0.0


def platt_fit(scores: np.ndarray, labels: np.ndarray, *, iters: int = 50, l2: float = 1e-4) -> tuple[float, float]:
    """Fit p(fake) = sigmoid(a·score + b) by Newton's method on the log loss.

    With balanced classes a·score + b is a log-likelihood ratio (fake vs genuine)."""
    x = np.asarray(scores, np.float64)
    y = np.asarray(labels, np.float64)
    a, b = 1.0, 0.0
    for _ in range(iters):
        z = a * x + b
        p = 1 / (1 + np.exp(-z))
        w = p * (1 - p) + 1e-9
        g = np.array([((p - y) * x).sum() + l2 * a, (p - y).sum()])
        h = np.array([[(w * x * x).sum() + l2, (w * x).sum()], [(w * x).sum(), w.sum()]])
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-9:
            break
    return float(a), float(b)


def summary(neg: np.ndarray, pos: np.ndarray) -> dict:
    return {"auc": round(auc(neg, pos), 4), "eer": round(eer(neg, pos), 4),
            "tpr_at_1pct_fpr": round(tpr_at_fpr(neg, pos, 0.01), 4), "n_real": int(len(neg)), "n_fake": int(len(pos))}

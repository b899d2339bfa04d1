"""Print the evaluation tables and write ``metrics.json``, ``scores.csv`` and ``roc_<pair>.png``.

Plots use matplotlib's Agg backend (no display, no Qt).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Iterable

import numpy as np

from interview_guard.evaluation import metrics as M
from interview_guard.evaluation.analysis import BASELINE, FUSED, FUSED_NAIVE, PairData, jsonable
from interview_guard.evaluation.manifest import ManifestRow
from interview_guard.evaluation.scoring import ClipScore
from interview_guard.pipeline.outputs import atomic_write_bytes


def _f(x, nd: int = 3, width: int = 0) -> str:
    s = "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"
    return s.rjust(width) if width else s


def _ci(ci, nd: int = 2) -> str:
    if not ci or any(v is None or not math.isfinite(v) for v in ci):
        return ""
    return f"[{ci[0]:.{nd}f}, {ci[1]:.{nd}f}]"


def _pct(x) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.0f}%"


def _label(det: str) -> str:
    return 'baseline "smaller face = fake"' if det == BASELINE else det


def pair_filename(pair: str) -> str:
    real, fake = pair.split("|", 1)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{real}_vs_{fake}")
    return f"roc_{safe}.png"


# --- text -----------------------------------------------------------------------------------------

def format_pair(name: str, a: dict, *, target_fpr: float = 0.01) -> str:
    w = io.StringIO()
    p = lambda *s: print(*s, file=w)  # noqa: E731
    p(f"\n== {name.replace('|', ' | ')}: {a['n_real_clips']} real, {a['n_fake_clips']} fake clips scored")
    if a.get("note"):
        p(f"   {a['note']}")
    dets = a["detectors"]
    tail = (FUSED, FUSED_NAIVE, BASELINE)
    order = [d for d in dets if d not in tail] + [d for d in tail if d in dets]
    width = max([len(_label(d)) for d in order] + [12])
    p(f"   {'detector'.ljust(width)}  {'AUC':>5} {'[95% CI]':<14} {'EER':>5} {'TPR@1%FPR':>9} "
      f"{'n_real':>6} {'n_fake':>6}  coverage real/fake  AUC(trim)  AUC(no score=0)")
    for d in order:
        m = dets[d]
        extra = "" if d == BASELINE else f"  {_f(m.get('auc_trimmed'), 3, 9)}  {_f(m.get('auc_no_score_as_0'), 3, 15)}"
        p(f"   {_label(d).ljust(width)}  {_f(m['auc'], 3, 5)} {_ci(m['auc_ci']):<14} {_f(m['eer'], 3, 5)} "
          f"{_f(m['tpr_at_1pct_fpr'], 3, 9)} {m['n_real']:>6} {m['n_fake']:>6}  "
          f"{_pct(m['coverage_real']):>8}/{_pct(m['coverage_fake']):<9}{extra}")
    if not [d for d in order if d != BASELINE]:
        p("   (no risk detector applies to this comparison; only the face-size baseline is shown)")

    # thresholds
    n_real = max((dets[d]["n_real"] for d in order), default=0)
    allowed = int(math.floor(target_fpr * n_real + 1e-9))
    p(f"   threshold at {100 * target_fpr:g}% FPR calibrated on genuine clips (flag score > thr; "
      f"{n_real} genuine clips allow {allowed} false alarm{'s' if allowed != 1 else ''}); "
      "LOSO FPR = false-alarm rate on each genuine source when calibrated on the others:")
    for d in order:
        m = dets[d]
        p(f"     {_label(d).ljust(width)}  thr {_f(m['threshold_at_1pct_fpr'], 3, 8)}  TPR {_f(m['tpr_at_threshold'], 3)}"
          f"  in-sample FPR {_f(m['fpr_at_threshold'], 3)}  LOSO FPR {_f(m['lo_source_fpr'], 3)}")

    # per source
    p("   per source (AUC [95% CI] (n_real/n_fake)); within = that source's reals vs its fakes; "
      "fakes(s) = its fakes vs all reals; reals(s) = all fakes vs its reals:")
    for s, e in a["per_source"].items():
        p(f"     source {s}: {e['n_real']} real, {e['n_fake']} fake")
        for d in order:
            cells = []
            for k, short in (("within", "within"), ("fakes_vs_all_reals", "fakes(s)"),
                             ("all_fakes_vs_reals", "reals(s)")):
                v = e["detectors"].get(d, {}).get(k)
                if v:
                    cells.append(f"{short} {_f(v['auc'], 2)} {_ci(v['auc_ci'])} ({v['n_real']}/{v['n_fake']})")
            if cells:
                p(f"       {_label(d).ljust(width)}  " + "   ".join(cells))

    # same-source pairs
    for key, title in (("same_source_pairs", "same-source PAIR"), ("pairsets", "same PAIRSET")):
        e = a[key]
        if not e["n_groups"]:
            if key == "same_source_pairs":
                p("   same-source PAIR: no PAIR id has both a real and a fake clip here")
            continue
        p(f"   {title} only ({e['n_groups']} groups, {e['n_real']} real + {e['n_fake']} fake clips): "
          "pooled AUC, and win rate = P(fake scores above a real of its own group):")
        for d in order:
            v = e["detectors"].get(d)
            if v:
                p(f"     {_label(d).ljust(width)}  AUC {_f(v['auc'], 3)} {_ci(v['auc_ci']):<14} "
                  f"win rate {_f(v['win_rate'], 3)} {_ci(v['win_rate_ci'])} ({v['n_comparisons']} comparisons)")

    # face size
    if a["face_size_confound"] or BASELINE in dets:
        _face_size(p, a, dets, width)

    sub = a.get("min_duration_subset")
    if sub:
        p(f"   clips >= {sub['min_duration_s']:g} s only ({sub['n_real_excluded']} real, {sub['n_fake_excluded']} "
          "fake shorter clips left out):")
        for d in order:
            v = sub["detectors"][d]
            p(f"     {_label(d).ljust(width)}  AUC {_f(v['auc'], 3)} {_ci(v['auc_ci'])} ({v['n_real']}/{v['n_fake']})")
    return w.getvalue()


def _face_size(p, a: dict, dets: dict, width: int) -> None:
    p("   face-size confound: Spearman of score vs median face size on genuine clips "
      "(negative = smaller faces score more fake):")
    for d, v in a["face_size_confound"].items():
        p(f"     {_label(d).ljust(width)}  rho {_f(v['spearman_real'], 3, 6)}  (n {v['n_real']})")
    b = dets.get(BASELINE)
    if b:
        p(f"     a detector should beat the baseline \"smaller face = fake\": AUC {_f(b['auc'], 3)} {_ci(b['auc_ci'])}")


# --- files ----------------------------------------------------------------------------------------

def write_json(path: Path, obj) -> None:
    data = json.dumps(jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(Path(path), (data + "\n").encode())


def write_scores_csv(path: Path, rows: Iterable[ManifestRow], scores: dict[str, ClipScore],
                     skipped: dict[str, str], detectors: list[str]) -> None:
    cols = ["file", "label", "modality", "source", "pair_id", "pairset_id", "status", "error", "duration_s",
            "frames", "frames_with_face", "face_size_median"]
    for d in detectors:
        cols += [f"{d}_mean", f"{d}_trimmed", f"{d}_n"]
    cols += ["fused", "fused_naive"]
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(cols)
    for r in rows:
        cs = scores.get(r.key)
        base = [r.file, r.label, r.modality, r.source, r.pair_id or "", r.pairset_id or ""]
        if cs is None:
            wr.writerow(base + ["skipped", skipped.get(r.key, ""), _num(r.duration_s)] + [""] * (len(cols) - 9))
            continue
        dur = r.duration_s if r.duration_s is not None else cs.media_duration_s
        line = base + [cs.status, cs.error or "", _num(dur), cs.frames, cs.frames_with_face,
                       _num(cs.face_size_median)]
        mod_dets = [d for d in detectors if d in cs.detectors]
        for d in detectors:
            v = cs.detectors.get(d)
            line += [_num(cs.score(d)), _num(cs.score(d, "trimmed")), v.get("n", "") if v else ""]
        line += [_num(cs.fused(mod_dets)), _num(cs.fused_naive(mod_dets))] if cs.status == "ok" else ["", ""]
        wr.writerow(line)
    atomic_write_bytes(Path(path), buf.getvalue().encode())


def _num(x) -> str:
    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    return f"{v:.6g}" if math.isfinite(v) else ""


def plot_roc(path: Path, p: PairData, analysis: dict) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 6.0), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    ax.plot([0, 1], [0, 1], color="0.7", lw=1, ls=":", label="chance")
    names = [BASELINE] + ([FUSED] if p.detectors else []) + list(p.detectors)  # detectors drawn on top
    for det in names:
        if det not in analysis["detectors"]:
            continue
        r, f = p.scores("real", det), p.scores("fake", det)
        if not np.isfinite(r).any() or not np.isfinite(f).any():
            continue
        fpr, tpr, _ = M.roc_curve(r, f)
        m = analysis["detectors"][det]
        style = dict(lw=3.0, color="black", alpha=0.55) if det == FUSED else (
            dict(lw=1.2, ls="--", color="0.45") if det == BASELINE else dict(lw=1.4))
        lbl = "smaller face = fake (baseline)" if det == BASELINE else det
        ax.plot(fpr, tpr, label=f"{lbl}  AUC {m['auc']:.3f} (n {m['n_real']}/{m['n_fake']})", **style)
    ax.axvline(0.01, color="tab:red", lw=0.8, alpha=0.5)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false-positive rate (genuine clips flagged)")
    ax.set_ylabel("true-positive rate (fake clips flagged)")
    ax.set_title(f"{p.real_label} vs {p.fake_label} (clip level)", fontsize=10)
    if not p.detectors:
        ax.text(0.5, 0.3, "no risk detector applies to this comparison", ha="center", fontsize=9,
                color="0.3")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(Path(path), buf.getvalue())

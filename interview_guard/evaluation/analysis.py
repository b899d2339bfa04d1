"""Turn per-clip scores into the evaluation's numbers (the ``metrics.json`` structure).

For each (real label, fake label) comparison and each detector plus ``fused`` (the calibrated
fusion: Σ weight · calibrated mean LLR, ``ClipScore.fused``) and ``fused_naive`` (the plain sum of
raw mean llrs, for comparison):

* pooled clip-level metrics (``metrics.binary_metrics``) with coverage, the trimmed-mean
  variant's AUC, and the AUC when "no score" is counted as llr 0 (what an operator would see);
* the threshold calibrated on genuine clips at 1 % FPR, its TPR, and the false-alarm rate it
  gives on a genuine *source it was not calibrated on* (leave-one-source-out);
* **per source**: ``within`` (that source's reals vs its fakes), ``fakes_vs_all_reals`` (that
  source's fakes vs every real) and ``all_fakes_vs_reals`` (every fake vs that source's reals),
  so one odd source can neither hide nor fake a gain;
* **same-source PAIRs**: only clips whose ``PAIR`` id has both a real and a fake here: pooled
  AUC on them and the pair win rate (fake scores above its own real half; ties 0.5) with a
  cluster bootstrap CI; the same within ``PAIRSET`` groups;
* **face-size confound**: Spearman of each score vs median face size on genuine clips, and the
  "smaller face = fake" baseline (score = −face size) through the same metrics;
* clips ≥ 2 s only, when some clips are shorter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from interview_guard.evaluation import metrics as M
from interview_guard.evaluation.manifest import ManifestRow
from interview_guard.evaluation.scoring import ClipScore

FUSED = "fused"
FUSED_NAIVE = "fused_naive"
BASELINE = "baseline_smaller_face"
MIN_DURATION_S = 2.0


@dataclass
class PairData:
    """The scored clips of one comparison, in manifest order."""

    real_label: str
    fake_label: str
    reals: list[tuple[ManifestRow, ClipScore]]
    fakes: list[tuple[ManifestRow, ClipScore]]
    detectors: list[str]
    modality: str = "video"

    @property
    def name(self) -> str:
        return f"{self.real_label}|{self.fake_label}"

    def scores(self, which: str, det: str, variant: str = "mean") -> np.ndarray:
        items = self.reals if which == "real" else self.fakes
        if det == FUSED:
            return np.array([cs.fused(self.detectors, variant) for _, cs in items], dtype=np.float64)
        if det == FUSED_NAIVE:
            return np.array([cs.fused_naive(self.detectors, variant) for _, cs in items], dtype=np.float64)
        if det == BASELINE:
            return np.array([-cs.face_size_median for _, cs in items], dtype=np.float64)
        return np.array([cs.score(det, variant) for _, cs in items], dtype=np.float64)

    def attr(self, which: str, name: str) -> list:
        items = self.reals if which == "real" else self.fakes
        return [getattr(r, name) for r, _ in items]

    def face_size(self, which: str) -> np.ndarray:
        items = self.reals if which == "real" else self.fakes
        return np.array([cs.face_size_median for _, cs in items], dtype=np.float64)

    def duration(self, which: str) -> np.ndarray:
        items = self.reals if which == "real" else self.fakes
        return np.array([r.duration_s if r.duration_s is not None else cs.media_duration_s for r, cs in items],
                        dtype=np.float64)


def _sub(a: np.ndarray, mask) -> np.ndarray:
    return a[np.asarray(mask, dtype=bool)] if len(a) else a


def _short(real, fake, n_boot, seed) -> dict:
    """AUC with CI and counts only (for subsets)."""
    r, f = real[np.isfinite(real)], fake[np.isfinite(fake)]
    return {"auc": M.auc(r, f), "auc_ci": list(M.auc_ci(r, f, n_boot=n_boot, seed=seed)),
            "n_real": int(len(r)), "n_fake": int(len(f))}


def analyse_pair(p: PairData, *, n_boot: int = M.DEFAULT_N_BOOT, seed: int = M.DEFAULT_SEED,
                 target_fpr: float = 0.01) -> dict:
    names = list(p.detectors) + ([FUSED, FUSED_NAIVE] if p.detectors else [])
    with_face = p.modality in ("video", "image")
    extra = [BASELINE] if with_face else []  # the face-size baseline only where there is a face
    out: dict = {
        "real_label": p.real_label, "fake_label": p.fake_label,
        "n_real_clips": len(p.reals), "n_fake_clips": len(p.fakes),
        "detectors": {}, "per_source": {}, "same_source_pairs": {}, "pairsets": {},
        "face_size_confound": {}, "min_duration_subset": None,
    }
    r_src, f_src = p.attr("real", "source"), p.attr("fake", "source")
    r_pair, f_pair = p.attr("real", "pair_id"), p.attr("fake", "pair_id")
    r_set, f_set = p.attr("real", "pairset_id"), p.attr("fake", "pairset_id")
    r_size, f_size = p.face_size("real"), p.face_size("fake")
    r_dur, f_dur = p.duration("real"), p.duration("fake")

    for det in names + extra:
        r, f = p.scores("real", det), p.scores("fake", det)
        m = M.binary_metrics(r, f, n_boot=n_boot, seed=seed, target_fpr=target_fpr)
        if det != BASELINE:
            rt, ft = p.scores("real", det, "trimmed"), p.scores("fake", det, "trimmed")
            m["auc_trimmed"] = M.auc(rt, ft)
            m["auc_no_score_as_0"] = M.auc(np.nan_to_num(r, nan=0.0), np.nan_to_num(f, nan=0.0))
            m["face_size_spearman_real"] = M.spearman(r, r_size)
            m["face_size_spearman_fake"] = M.spearman(f, f_size)
        lo = M.leave_one_source_out_fpr(r, r_src, target_fpr=target_fpr)
        m["lo_source_fpr"] = lo["fpr"]
        m["lo_source_fpr_per_source"] = lo["per_source"]
        out["detectors"][det] = m
        if det != BASELINE and with_face:
            out["face_size_confound"][det] = {"spearman_real": m["face_size_spearman_real"],
                                              "n_real": int(np.sum(np.isfinite(r) & np.isfinite(r_size))),
                                              "spearman_fake": m["face_size_spearman_fake"]}

    # per source
    for s in sorted(set(r_src) | set(f_src)):
        rin = np.array([x == s for x in r_src], dtype=bool)
        fin = np.array([x == s for x in f_src], dtype=bool)
        entry = {"n_real": int(rin.sum()), "n_fake": int(fin.sum()), "detectors": {}}
        for det in names + extra:
            r, f = p.scores("real", det), p.scores("fake", det)
            d = {}
            if rin.any() and fin.any():
                d["within"] = _short(r[rin], f[fin], n_boot, seed)
            if fin.any():
                d["fakes_vs_all_reals"] = _short(r, f[fin], n_boot, seed)
            if rin.any():
                d["all_fakes_vs_reals"] = _short(r[rin], f, n_boot, seed)
            entry["detectors"][det] = d
        out["per_source"][s] = entry

    # same-source PAIRs and PAIRSETs
    for key, rg, fg in (("same_source_pairs", r_pair, f_pair), ("pairsets", r_set, f_set)):
        shared = ({g for g in rg if g} & {g for g in fg if g})
        rin = np.array([g in shared for g in rg], dtype=bool)
        fin = np.array([g in shared for g in fg], dtype=bool)
        entry = {"n_groups": len(shared), "n_real": int(rin.sum()), "n_fake": int(fin.sum()), "detectors": {}}
        if shared:
            for det in names + extra:
                r, f = p.scores("real", det), p.scores("fake", det)
                d = _short(r[rin], f[fin], n_boot, seed)
                win, ng, nc = M.grouped_auc(r, rg, f, fg)
                d.update({"win_rate": win, "win_rate_ci": list(M.grouped_auc_ci(r, rg, f, fg, n_boot=n_boot,
                                                                                  seed=seed)),
                          "n_groups": ng, "n_comparisons": nc})
                entry["detectors"][det] = d
        out[key] = entry

    # clips >= 2 s
    rk = ~(r_dur < MIN_DURATION_S)  # unknown duration (images, no column) is kept
    fk = ~(f_dur < MIN_DURATION_S)
    if (len(rk) and not rk.all()) or (len(fk) and not fk.all()):
        sub = {"min_duration_s": MIN_DURATION_S, "n_real_excluded": int((~rk).sum()),
               "n_fake_excluded": int((~fk).sum()), "detectors": {}}
        for det in names + extra:
            sub["detectors"][det] = _short(p.scores("real", det)[rk], p.scores("fake", det)[fk], n_boot, seed)
        out["min_duration_subset"] = sub
    return out


def pairs_json(analysis: dict[str, dict]) -> dict:
    """The ``--json`` schema: {"pairs": {pair: {det or fused: {auc, eer, tpr_at_1pct_fpr, n_real, n_fake, ...}}}}."""
    keep = ("auc", "eer", "tpr_at_1pct_fpr", "n_real", "n_fake", "auc_ci", "auc_trimmed", "coverage_real",
            "coverage_fake", "threshold_at_1pct_fpr")
    pairs: dict[str, dict] = {}
    for name, a in analysis.items():
        entry = {}
        for det, m in a.get("detectors", {}).items():
            if det == BASELINE:
                continue
            entry[det] = {k: m.get(k) for k in keep}
        if not entry:
            entry[FUSED] = {"auc": None, "eer": None, "tpr_at_1pct_fpr": None, "n_real": 0, "n_fake": 0,
                            "note": a.get("note", "no detector scored this comparison")}
        pairs[name] = entry
    return {"pairs": pairs}


def jsonable(x):
    """NaN/inf → None, numpy scalars → Python, recursively (valid JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x

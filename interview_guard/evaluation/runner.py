"""The eval run: manifest → selection → scoring (cached, parallel) → analysis → report files."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interview_guard.core.errors import ConfigError
from interview_guard.evaluation import analysis as A
from interview_guard.evaluation import report as R
from interview_guard.evaluation.manifest import (ManifestRow, comparison_pairs, label_note, parse_pairs_option,
                                                 read_manifest)
from interview_guard.evaluation.scoring import (ClipScore, ScoreCache, ScoringConfig, detector_meta,
                                                modality_detectors, score_clips)


@dataclass
class EvalOptions:
    corpus: str
    out: str | None = None
    json_file: str | None = None
    detectors: list[str] | None = None
    labels: list[str] | None = None
    pairs: str | None = None
    limit: int = 0
    sample_fps: float = 5.0
    max_width: int = 0
    workers: int = 1
    cache: str | None = None
    no_cache: bool = False
    n_boot: int = 1000
    seed: int = 0
    quiet: bool = False


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def _default_out(corpus: Path) -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "interview-guard" / "eval"
    return base / (corpus.resolve().name or "corpus")


def select_detectors(requested: list[str] | None) -> tuple[list[str], list[str]]:
    """(risk detector ids to run, warnings). Unknown requested ids are a ConfigError."""
    from interview_guard.detectors import registry

    avail = registry.available()
    warnings: list[str] = []
    if requested:
        unknown = [d for d in requested if d not in avail]
        if unknown:
            raise ConfigError(f"unknown detector id(s): {', '.join(unknown)}",
                              hint=f"registered: {', '.join(avail) or 'none'}")
    ids = []
    for i in (requested or avail):
        try:
            meta = detector_meta(i)
        except Exception as e:  # noqa: BLE001 - a detector whose model is missing must not stop the run
            warnings.append(f"detector {i} cannot be created ({type(e).__name__}: {e}); left out")
            continue
        if meta.kind != "risk":
            if requested:
                warnings.append(f"detector {i} reports {meta.kind!r} evidence, not risk; it has no score to evaluate")
            continue
        ids.append(i)
    return ids, warnings


def _limit(rows: list[ManifestRow], n: int, seed: int) -> list[ManifestRow]:
    if n <= 0 or len(rows) <= n:
        return rows
    rng = np.random.default_rng(seed)
    keep = set(rng.choice(len(rows), size=n, replace=False).tolist())
    return [r for i, r in enumerate(rows) if i in keep]


def run(o: EvalOptions) -> int:
    t_start = time.perf_counter()
    manifest = read_manifest(o.corpus)
    for w in manifest.warnings:
        _warn(w)
    notes: list[str] = []
    skipped: dict[str, str] = {}       # row key -> reason
    skip_counts: dict[str, int] = {}

    def skip(r: ManifestRow, reason: str, category: str, *, warn: bool = True) -> None:
        skipped[r.key] = reason
        skip_counts[category] = skip_counts.get(category, 0) + 1
        if warn:
            _warn(f"skipped {r.file}: {reason}")

    if o.workers < 1:
        raise ConfigError("--workers must be at least 1")
    if o.n_boot < 0:
        raise ConfigError("--bootstrap must be >= 0 (0 = no confidence intervals)")
    if o.sample_fps < 0:
        raise ConfigError("--sample-fps must be >= 0 (0 = every frame)")

    # --- selection ---------------------------------------------------------------------------
    rows = list(manifest.rows)
    if o.labels:
        missing = [lab for lab in o.labels if lab not in {r.label for r in rows}]
        for lab in missing:
            _warn(f"label {lab} is not in {manifest.root / 'MANIFEST.tsv'}")
        rows = [r for r in rows if r.label in set(o.labels)]
    by_label: dict[str, list[ManifestRow]] = {}
    for r in rows:
        by_label.setdefault(r.label, []).append(r)
    for lab, rs in sorted(by_label.items()):
        why = label_note(lab, rs)
        if why:
            _warn(f"{why}: {len(rs)} file(s) not evaluated")
            for r in rs:
                skip(r, why, "unknown label", warn=False)
    explicit = parse_pairs_option(o.pairs) if o.pairs else None
    pairs = comparison_pairs([r for r in rows if r.key not in skipped], explicit)
    if explicit:
        for a, b in explicit:
            if (a, b) not in pairs:
                _warn(f"--pairs {a}|{b}: label(s) not present; comparison left out")
    in_pair = {lab for pr in pairs for lab in pr}
    for lab, rs in sorted(by_label.items()):
        if lab not in in_pair and not any(r.key in skipped for r in rs):
            notes.append(f"label {lab} ({len(rs)} files) is in no real|fake comparison; not scored")
            for r in rs:
                skip(r, "label in no comparison", "label in no comparison", warn=False)
    if not pairs:
        _warn("no real|fake comparison can be made from the selected labels "
              f"({', '.join(sorted(by_label)) or 'none'})")

    det_ids, det_warn = select_detectors(o.detectors)
    for w in det_warn:
        _warn(w)
    cal_label = _calibration_label()      # a damaged calibration table stops here, with its fix, before any work
    config = ScoringConfig(detector_ids=tuple(det_ids), sample_fps=o.sample_fps, max_width=o.max_width)
    mod_dets = {m: modality_detectors(config, m) for m in ("video", "image", "audio")}

    to_score: list[ManifestRow] = []
    for lab in sorted(in_pair):
        rs = [r for r in by_label.get(lab, []) if r.key not in skipped]
        rs = _limit(rs, o.limit, o.seed)
        for r in by_label.get(lab, []):
            if r.key not in skipped and r not in rs:
                skip(r, f"--limit {o.limit}", "--limit", warn=False)
        mod = rs[0].modality if rs else ""
        if mod == "audio" and not mod_dets["audio"]:
            for r in rs:
                skip(r, "no audio detectors registered", "no audio detectors registered", warn=False)
            continue
        for r in rs:
            if not r.path.is_file():
                why = "is a folder, not a file" if r.path.is_dir() else "file not found"
                skip(r, f"{why} ({r.path})", "missing file")
            else:
                to_score.append(r)
    if any(r.modality == "audio" for lab in in_pair for r in by_label.get(lab, [])) and not mod_dets["audio"]:
        notes.append("audio labels not scored: no audio detectors registered")
    if any(r.modality == "image" for r in to_score):
        notes.append("images are scored as one-frame clips (temporal detectors abstain on them)")

    # --- scoring -----------------------------------------------------------------------------
    out = Path(o.out) if o.out else _default_out(Path(o.corpus))
    from interview_guard.pipeline.outputs import prepare_out_dir

    prepare_out_dir(out)
    cache = ScoreCache(None if o.no_cache else Path(o.cache) if o.cache else out / "cache")
    order = {r.key: i for i, r in enumerate(manifest.rows)}
    to_score.sort(key=lambda r: order[r.key])

    def progress(k: int, n: int, r: ManifestRow, cs: ClipScore) -> None:
        if o.quiet:
            return
        if cs.status != "ok":
            msg = f"FAILED ({cs.error})"
        elif cs.modality == "audio":
            msg = f"{cs.media_duration_s:.1f} s of audio"
        else:
            msg = f"{cs.frames} frames, face in {cs.frames_with_face}"
        tail = "cached" if cs.cached else f"{cs.wall_s:.1f} s"
        print(f"[{k:>{len(str(n))}}/{n}] {r.file}: {msg} ({tail})", file=sys.stderr, flush=True)

    t_score = time.perf_counter()
    scores = score_clips(to_score, config, workers=o.workers, cache=cache, progress=progress)
    wall_score = time.perf_counter() - t_score
    ok: dict[str, ClipScore] = {}
    det_errors: dict[str, list[tuple[str, str]]] = {}
    for r in to_score:
        cs = scores.get(r.key)
        if cs is None or cs.status != "ok":
            skip(r, f"could not be decoded or scored: {cs.error if cs else 'no result'}", "failed to decode/score")
        else:
            ok[r.key] = cs
            if cs.error:
                _warn(f"{r.file}: {cs.error} (the frames before it were scored)")
            for d, err in cs.detector_errors.items():
                det_errors.setdefault(d, []).append((r.file, err))
    for d, errs in sorted(det_errors.items()):
        _warn(f"detector {d} raised on {len(errs)} clip(s), so it has no score there (first: {errs[0][0]}: "
              f"{errs[0][1]})")
        notes.append(f"detector {d} raised on {len(errs)} clip(s); those clips count as no score")

    # --- analysis ------------------------------------------------------------------------------
    analyses: dict[str, dict] = {}
    pair_data: dict[str, A.PairData] = {}
    for real_lab, fake_lab in pairs:
        reals = [(r, ok[r.key]) for r in by_label.get(real_lab, []) if r.key in ok]
        fakes = [(r, ok[r.key]) for r in by_label.get(fake_lab, []) if r.key in ok]
        mod = (by_label[fake_lab][0].modality if by_label.get(fake_lab) else "video")
        pdata = A.PairData(real_lab, fake_lab, reals, fakes, list(mod_dets.get(mod, [])), modality=mod)
        name = pdata.name
        if mod == "audio" and not mod_dets["audio"]:
            analyses[name] = {"real_label": real_lab, "fake_label": fake_lab, "n_real_clips": 0, "n_fake_clips": 0,
                              "note": "no audio detectors registered", "detectors": {}}
            continue
        a = A.analyse_pair(pdata, n_boot=o.n_boot, seed=o.seed)
        if not pdata.detectors:
            a["note"] = f"no {mod} risk detectors registered"
        analyses[name] = a
        pair_data[name] = pdata

    for name, a in analyses.items():
        for det, m in a.get("detectors", {}).items():
            if det in (A.FUSED, A.FUSED_NAIVE, A.BASELINE) or m.get("n_real_total", 0) + m.get("n_fake_total", 0) == 0:
                continue
            if m["n_real"] + m["n_fake"] == 0:
                msg = (f"detector {det} gave no score on any clip of {name} (it abstained everywhere: check its "
                       f"quality gate, and whether it needs more than --sample-fps {o.sample_fps:g} frames/s)")
                _warn(msg)
                notes.append(msg)

    # --- report ----------------------------------------------------------------------------------
    det_meta = [{"id": i, "version": detector_meta(i).version, "modality": detector_meta(i).modality}
                for i in det_ids]
    n_cached = sum(1 for cs in scores.values() if cs.cached)
    header = [
        f"interview-guard eval: {manifest.root} ({len(manifest.rows)} manifest rows)",
        "risk detectors: " + (", ".join(f"{m['id']} v{m['version']} ({m['modality']})" for m in det_meta)
                              or "none registered"),
        f"scored {len(ok)} clips ({n_cached} from cache) at {o.sample_fps:g} frames/s in {wall_score:.0f} s "
        f"with {o.workers} worker(s); skipped {len(skipped)}"
        + (" (" + ", ".join(f"{k}: {v}" for k, v in sorted(skip_counts.items())) + ")" if skip_counts else ""),
        "clip score = mean llr of the detector's risk evidence with quality > 0 (no such evidence = no score, "
        "counted in coverage, never imputed); fused = the live fusion's clip evidence: sum over the scoring "
        "detectors of weight x mean calibrated LLR (" + cal_label + "); fused_naive = plain sum of the "
        "raw mean llrs; positive class = fake; "
        f"95% CIs: stratified bootstrap, {o.n_boot} resamples, seed {o.seed}",
    ] + [f"note: {n}" for n in notes]
    text = "\n".join(header) + "".join(
        R.format_pair(name, a) if a.get("detectors") else f"\n== {name.replace('|', ' | ')}: {a.get('note', '')}\n"
        for name, a in analyses.items())
    print(text)

    written = []
    for name, pdata in pair_data.items():
        path = out / R.pair_filename(name)
        try:
            R.plot_roc(path, pdata, analyses[name])
            written.append(path.name)
        except Exception as e:  # noqa: BLE001 - a plot must not lose the numbers
            _warn(f"could not draw {path.name}: {type(e).__name__}: {e}")
    all_dets = list(det_ids)
    R.write_scores_csv(out / "scores.csv", manifest.rows if not o.labels else rows, scores, skipped, all_dets)
    metrics = {
        "schema": "interview-guard eval metrics v1",
        "corpus": str(manifest.root),
        "manifest_rows": len(manifest.rows),
        "settings": {
            "sample_fps": o.sample_fps, "max_width": o.max_width, "limit_per_label": o.limit,
            "n_boot": o.n_boot, "seed": o.seed, "target_fpr": 0.01, "workers": o.workers,
            "detectors": det_meta,
            "clip_score": "mean llr over the detector's risk evidence with quality > 0; 'trimmed' = 20% trimmed "
                          "mean; NaN (no score) when the detector abstained on the whole clip",
            "fused": "sum over the detectors that scored the clip of cal_weight x mean calibrated LLR (the "
                     "product's calibration table and correlation weights, as the live fusion uses them: "
                     + cal_label + ")",
            "fused_naive": "plain sum of per-detector raw mean llr over the detectors that scored the clip",
            "audio": "16 kHz mono, 0.1 s chunks, no padding or repetition; detectors own their windows",
            "video": "RecordingVideoSource at sample_fps; fresh perception per clip; largest face",
        },
        "clips": {"scored": len(ok), "from_cache": n_cached, "skipped": len(skipped), "skipped_by_reason": skip_counts},
        "skipped": [{"file": k, "reason": v} for k, v in skipped.items()
                    if not v.startswith("--limit") and v != "label in no comparison"],
        "notes": notes,
        "pairs": analyses,
        "roc_plots": written,
        "wall_s": round(time.perf_counter() - t_start, 1),
    }
    R.write_json(out / "metrics.json", metrics)
    if o.json_file:
        R.write_json(Path(o.json_file), A.pairs_json(analyses))
    print(f"\nwrote {out / 'metrics.json'}, {out / 'scores.csv'}, {len(written)} ROC plot(s)"
          + (f" and {o.json_file}" if o.json_file else ""))
    return 0


def _calibration_label() -> str:
    """Which calibration table calibrated the scores, and the caveat that goes with it."""
    from interview_guard.fusion.calibration import Calibration

    cal = Calibration.load()
    if not cal.detectors:
        return f"no calibration table at {cal.path}: default shrink"
    return f"{cal.path}, fitted on the development corpus: in-sample there"

"""The five weight-free face-swap detectors on the shared corpus: false alarms and AUCs.

Runs ``sharpness_mismatch``, ``colour_mismatch``, ``seam_band``, ``identity_flicker`` and
``landmark_jitter`` (perception + only these detectors, no fusion) over the ``video_real``,
``video_fake_faceswap`` and ``video_fake_reenact`` clips of ``$IG_CORPUS`` (default
../shared/corpus), sampled at ``--fps`` (RecordingVideoSource(sample_fps=...)), and prints

* clip-level mean llr per label and detector (clip score = mean llr over the clip's evidence
  with quality > 0; a clip where a detector always abstained is listed and scored 0),
* per-detector clip AUC: video_real vs video_fake_faceswap, video_real vs video_fake_reenact,
  also on same-source ``PAIR`` clips only (the two halves of each DeepFaceLive demo),
* on real clips, the fraction of evidence with llr > 1 (false-alarm proxy),
* Spearman correlation of the clip score with the clip's median face size on real clips
  (the face-size confound of ../shared/docs/evaluation.md).

``--fit`` prints the genuine reference statistics (median and 1.4826·MAD of each raw feature
``f_*`` in the evidence details, over REAL clips only) that the detector modules store as
their reference constants. Fake labels are never used for fitting.

``--cache DIR`` keeps the perception output (landmarks, pose, size, sharpness, frame diff) per
clip so reruns skip MediaPipe; frames are re-decoded and matched by index, so a cached run gives
the same observations as a fresh one. Without ``--cache`` the Analyzer runs as in the app.

Run:  .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache
      .venv/bin/python bench/weightfree_on_corpus.py --fps 10 --cache /tmp/ig_wf_cache --fit
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.capture.recording import RecordingVideoSource  # noqa: E402
from interview_guard.core.types import FaceObs, HeadPose, Observation, VideoFrame  # noqa: E402
from interview_guard.detectors import registry  # noqa: E402
from interview_guard.detectors.contract import Window  # noqa: E402

DETECTOR_IDS = ("sharpness_mismatch", "colour_mismatch", "seam_band", "identity_flicker", "landmark_jitter")
LABELS = ("video_real", "video_fake_faceswap", "video_fake_reenact")


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def manifest(root: Path, labels: tuple[str, ...]) -> list[dict]:
    with open(root / "MANIFEST.tsv", newline="") as f:
        return [r for r in csv.DictReader(f, delimiter="\t") if r["label"] in labels]


def pair_id(row: dict) -> str | None:
    notes = row.get("notes", "")
    if "PAIR " not in notes:
        return None
    return notes.split("PAIR ", 1)[1].split(":")[0].split(" ")[0].strip()


# ----------------------------------------------------------------------------- perception


def _perceive(path: Path, fps: float) -> dict:
    """MediaPipe over the sampled frames; returns arrays for the npz cache (primary face only)."""
    from interview_guard.perception.landmarks import PerceptionConfig, Perceiver

    rows: dict[str, list] = defaultdict(list)
    with Perceiver(config=PerceptionConfig(hands_every=0)) as per:
        src = RecordingVideoSource(path, sample_fps=fps)
        for fr in src:
            if not isinstance(fr, VideoFrame):
                break
            o = per.observe(fr, want_hands=False)
            rows["index"].append(fr.index)
            rows["t_ns"].append(fr.t_ns)
            rows["frame_diff"].append(o.frame_diff)
            rows["n_faces"].append(len(o.faces))
            f = o.face
            if f is None:
                rows["landmarks"].append(np.full((478, 3), np.nan, np.float32))
                rows["face"].append(np.full(9, np.nan))
            else:
                rows["landmarks"].append(f.landmarks)
                rows["face"].append(np.array([*f.bbox, f.pose.yaw, f.pose.pitch, f.pose.roll, f.size_px,
                                              f.sharpness]))
    return {k: np.asarray(v) for k, v in rows.items()}


def cached_observations(path: Path, fps: float, cache: Path):
    """Observations rebuilt from the perception cache (computed on first use)."""
    cfile = cache / f"{path.parent.name}__{path.stem}__{fps:g}.npz"
    if not cfile.exists():
        data = _perceive(path, fps)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(cfile, **data)
    data = np.load(cfile)
    by_index = {int(i): k for k, i in enumerate(data["index"])}
    for fr in RecordingVideoSource(path, sample_fps=fps):
        if not isinstance(fr, VideoFrame):
            break
        k = by_index.get(fr.index)
        if k is None:
            continue
        fv = data["face"][k]
        faces: tuple[FaceObs, ...] = ()
        if np.isfinite(fv[0]):
            faces = (FaceObs(landmarks=data["landmarks"][k].astype(np.float32), bbox=tuple(float(v) for v in fv[:4]),
                             pose=HeadPose(float(fv[4]), float(fv[5]), float(fv[6])), size_px=float(fv[7]),
                             sharpness=float(fv[8])),)
        yield Observation(frame=fr, faces=faces, hands=(), hands_ran=False, frame_diff=float(data["frame_diff"][k]))


def analyzer_observations(path: Path, fps: float, analyzer):
    """The app's own path: Analyzer (perception + the given detectors) frame by frame."""
    for fr in RecordingVideoSource(path, sample_fps=fps):
        if not isinstance(fr, VideoFrame):
            break
        yield analyzer.perceiver.observe(fr, want_hands=False)


# ----------------------------------------------------------------------------- metrics


def auc(neg: list[float], pos: list[float]) -> float:
    """Mann-Whitney AUC: P(score_fake > score_real), ties count half."""
    if not neg or not pos:
        return float("nan")
    n = np.asarray(neg, float)[:, None]
    p = np.asarray(pos, float)[None, :]
    return float(((p > n).sum() + 0.5 * (p == n).sum()) / (n.size * p.size))


def spearman(a: list[float], b: list[float]) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3:
        return float("nan")
    r = spearmanr(a, b).statistic
    return float(r)


def robust(x: np.ndarray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    med = float(np.median(x))
    return med, float(1.4826 * np.median(np.abs(x - med)))


# ----------------------------------------------------------------------------- main


def run(args) -> dict:
    root = corpus_root()
    rows = manifest(root, tuple(args.labels))
    if args.only:
        rows = [r for r in rows if any(s in r["file"] for s in args.only)]
    if args.limit:
        per: dict[str, int] = defaultdict(int)
        keep = []
        for r in rows:
            if per[r["label"]] < args.limit:
                keep.append(r)
                per[r["label"]] += 1
        rows = keep
    dets_ids = tuple(args.detectors)
    analyzer = None
    if not args.cache:
        from interview_guard.perception.landmarks import PerceptionConfig
        from interview_guard.pipeline.analyzer import Analyzer

        analyzer = Analyzer(perception=PerceptionConfig(hands_every=0), detectors=registry.create_all(dets_ids))
    clips = []
    cost: dict[str, list[float]] = defaultdict(list)
    t_start = time.perf_counter()
    for r in rows:
        path = root / r["file"]
        if analyzer is not None:
            analyzer.reset()
            dets = analyzer.video_detectors
            obs_iter = analyzer_observations(path, args.fps, analyzer)
        else:
            dets = registry.create_all(dets_ids)
            obs_iter = cached_observations(path, args.fps, Path(args.cache))
        evs: dict[str, list[dict]] = {d.id: [] for d in dets}
        sizes = []
        n = 0
        for o in obs_iter:
            n += 1
            if o.face is not None:
                sizes.append(o.face.size_px)
            w = Window(t_ns=o.t_ns, observation=o)
            for d in dets:
                t0 = time.perf_counter()
                ev = d.process(w)
                cost[d.id].append((time.perf_counter() - t0) * 1e3)
                if ev is not None:
                    evs[d.id].append({"t": ev.t_end_ns / 1e9, "llr": ev.llr, "quality": ev.quality,
                                      "code": ev.code, "details": dict(ev.to_json()["details"])})
        clips.append({"file": r["file"], "label": r["label"], "pair": pair_id(r), "frames": n,
                      "face_px": float(np.median(sizes)) if sizes else float("nan"), "evidence": evs})
        if args.verbose:
            s = "  ".join(f"{k[:10]}={_clip_score(v):+.2f}/{_n_used(v)}" for k, v in evs.items())
            print(f"{r['label'][11:] or 'real':9s} {Path(r['file']).name[:44]:44s} px={clips[-1]['face_px']:5.0f} {s}",
                  flush=True)
    if analyzer is not None:
        analyzer.close()
    return {"clips": clips, "cost_ms": {k: float(np.mean(v)) for k, v in cost.items()},
            "wall_s": time.perf_counter() - t_start, "fps": args.fps}


def _used(evs: list[dict]) -> list[dict]:
    return [e for e in evs if e["quality"] > 0]


def _n_used(evs: list[dict]) -> int:
    return len(_used(evs))


def _clip_score(evs: list[dict]) -> float:
    u = _used(evs)
    return float(np.mean([e["llr"] for e in u])) if u else 0.0


def report(res: dict, dets_ids: tuple[str, ...]) -> dict:
    clips = res["clips"]
    out: dict = {"per_detector": {}}
    print(f"\n{len(clips)} clips, sampled at {res['fps']:g} fps, {res['wall_s']:.0f} s wall")
    for det in dets_ids:
        by: dict[str, list[float]] = defaultdict(list)
        abst: dict[str, int] = defaultdict(int)
        for c in clips:
            evs = c["evidence"].get(det, [])
            if not _used(evs):
                abst[c["label"]] += 1
            by[c["label"]].append(_clip_score(evs))
        real = by["video_real"]
        # same-source pairs: DeepFaceLive halves (real_left vs swap_right of one demo)
        pairs: dict[str, dict[str, float]] = defaultdict(dict)
        for c in clips:
            if c["pair"] and c["pair"].startswith("dfl-") and c["label"] in ("video_real", "video_fake_faceswap"):
                pairs[c["pair"]][c["label"]] = _clip_score(c["evidence"].get(det, []))
        pr = [(v["video_real"], v["video_fake_faceswap"]) for v in pairs.values() if len(v) == 2]
        real_evs = [e for c in clips if c["label"] == "video_real" for e in _used(c["evidence"].get(det, []))]
        fa = float(np.mean([e["llr"] > 1.0 for e in real_evs])) if real_evs else float("nan")
        rc = [(c["face_px"], _clip_score(c["evidence"].get(det, []))) for c in clips
              if c["label"] == "video_real" and _used(c["evidence"].get(det, []))]
        rho = spearman([a for a, _ in rc], [b for _, b in rc])
        ev_px = []
        row = {
            "mean_llr": {k: float(np.mean(v)) for k, v in by.items()},
            "abstained_clips": dict(abst),
            "auc_real_vs_faceswap": auc(real, by["video_fake_faceswap"]),
            "auc_real_vs_reenact": auc(real, by["video_fake_reenact"]),
            "auc_pairs_dfl": auc([a for a, _ in pr], [b for _, b in pr]),
            "pairs_fake_higher": f"{sum(b > a for a, b in pr)}/{len(pr)}",
            "real_evidence": len(real_evs),
            "real_frac_llr_gt_1": fa,
            "spearman_score_vs_face_px_real": rho,
            "cost_ms_per_frame": res["cost_ms"].get(det, float("nan")),
        }
        del ev_px
        out["per_detector"][det] = row
    # all five together: clip score = sum of the detectors' clip means (a naive fusion, for reference)
    by: dict[str, list[float]] = defaultdict(list)
    for c in clips:
        by[c["label"]].append(sum(_clip_score(c["evidence"].get(d, [])) for d in dets_ids))
    out["sum_of_five"] = {"auc_real_vs_faceswap": auc(by["video_real"], by["video_fake_faceswap"]),
                          "auc_real_vs_reenact": auc(by["video_real"], by["video_fake_reenact"])}

    hdr = (f"{'detector':20s} {'mean llr real/swap/reen':>25s} {'AUC swap':>8s} {'AUC reen':>8s} {'AUC pairs':>9s} "
           f"{'FA>1':>6s} {'rho(px)':>7s} {'abst r/s/re':>11s} {'ms/fr':>6s}")
    print(hdr)
    for det, r in out["per_detector"].items():
        m = r["mean_llr"]
        a = r["abstained_clips"]
        print(f"{det:20s} {m.get('video_real', 0):+7.2f}/{m.get('video_fake_faceswap', 0):+7.2f}/"
              f"{m.get('video_fake_reenact', 0):+7.2f}   {r['auc_real_vs_faceswap']:8.3f} {r['auc_real_vs_reenact']:8.3f} "
              f"{r['auc_pairs_dfl']:9.3f} {r['real_frac_llr_gt_1']:6.3f} {r['spearman_score_vs_face_px_real']:+7.2f} "
              f"{a.get('video_real', 0):3d}/{a.get('video_fake_faceswap', 0):2d}/{a.get('video_fake_reenact', 0):2d}    "
              f"{r['cost_ms_per_frame']:6.2f}")
    s = out["sum_of_five"]
    print(f"{'sum of five':20s} {'':25s} {s['auc_real_vs_faceswap']:8.3f} {s['auc_real_vs_reenact']:8.3f}")
    print("FA>1: fraction of evidence on real clips with llr > 1; rho(px): Spearman of clip score vs median face "
          "size on real clips; abst: clips where the detector always abstained (scored 0).")
    return out


def fit(res: dict, dets_ids: tuple[str, ...]) -> dict:
    """Genuine reference statistics of every raw feature f_* on REAL clips (window level)."""
    print("\nGenuine reference statistics (video_real only; window level; median, 1.4826*MAD, n, p5, p95):")
    out: dict = {}
    for det in dets_ids:
        feats: dict[str, list[float]] = defaultdict(list)
        within: dict[str, list[float]] = defaultdict(list)
        for c in res["clips"]:
            if c["label"] != "video_real":
                continue
            per_clip: dict[str, list[float]] = defaultdict(list)
            for e in c["evidence"].get(det, []):
                if e["quality"] <= 0:
                    continue
                for k, v in e["details"].items():
                    if k.startswith("f_") and isinstance(v, (int, float)) and math.isfinite(v):
                        feats[k].append(float(v))
                        per_clip[k].append(float(v))
            for k, v in per_clip.items():
                if len(v) >= 3:
                    within[k].append(float(np.std(v, ddof=1)))
        out[det] = {}
        for k, v in sorted(feats.items()):
            x = np.asarray(v)
            med, mad = robust(x)
            wc = float(np.median(within[k])) if within[k] else float("nan")
            out[det][k] = {"median": med, "scale": mad, "within_clip_sd": wc, "n": int(x.size),
                           "p5": float(np.percentile(x, 5)), "p95": float(np.percentile(x, 95)),
                           "p99": float(np.percentile(x, 99))}
            print(f"  {det:20s} {k:14s} median={med:+.4f} scale={mad:.4f} within-clip sd={wc:.4f} n={x.size:4d} "
                  f"p5={np.percentile(x, 5):+.4f} p95={np.percentile(x, 95):+.4f} p99={np.percentile(x, 99):+.4f}")
    out["landmark_jitter_model"] = _fit_jitter(res)
    out["identity_flicker_model"] = _fit_flicker(res)
    return out


def _real_details(res: dict, det: str) -> list[dict]:
    return [e["details"] for c in res["clips"] if c["label"] == "video_real"
            for e in c["evidence"].get(det, []) if e["quality"] > 0]


def _fit_jitter(res: dict) -> dict:
    """landmark_jitter's genuine model: least squares of the window log jitter on the yaw bin,
    log(IOD/50) and log(1 + motion/2°), on real clips; then the residual's median and spread."""
    from interview_guard.detectors import landmark_jitter as lj

    rows = [d for d in _real_details(res, "landmark_jitter")
            if all(isinstance(d.get(k), (int, float)) for k in ("f_logjit", "f_logiod", "f_logmot", "f_yaw"))]
    if len(rows) < 10:
        return {}
    x = np.array([[d["f_yaw"] < lj.YAW_BIN_EDGE, d["f_yaw"] >= lj.YAW_BIN_EDGE, d["f_logiod"], d["f_logmot"]]
                  for d in rows], float)
    y = np.array([d["f_logjit"] for d in rows])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    med, scale = robust(y - x @ beta)
    print(f"  landmark_jitter model: B0 = ({beta[0]:.4f}, {beta[1]:.4f}), B1 = {beta[2]:.4f}, B2 = {beta[3]:.4f}; "
          f"residual median {med:+.4f}, scale {scale:.4f} (n={len(rows)})")
    return {"B0": [beta[0], beta[1]], "B1": beta[2], "B2": beta[3], "resid_median": med, "resid_scale": scale}


def _fit_flicker(res: dict) -> dict:
    """identity_flicker's motion model J = J0 + K·r: least squares on real window medians."""
    rows = [d for d in _real_details(res, "identity_flicker")
            if isinstance(d.get("f_jraw"), (int, float)) and isinstance(d.get("f_r"), (int, float))]
    if len(rows) < 10:
        return {}
    x = np.array([[1.0, d["f_r"]] for d in rows])
    y = np.array([d["f_jraw"] for d in rows])
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    print(f"  identity_flicker motion model: J0 = {beta[0]:.4f}, K_MOTION = {beta[1]:.4f} (n={len(rows)})")
    return {"J0": beta[0], "K_MOTION": beta[1]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fps", type=float, default=10.0, help="sampling rate (RecordingVideoSource sample_fps)")
    ap.add_argument("--labels", nargs="+", default=list(LABELS))
    ap.add_argument("--detectors", nargs="+", default=list(DETECTOR_IDS))
    ap.add_argument("--only", nargs="*", help="substrings of file names to keep")
    ap.add_argument("--limit", type=int, default=0, help="at most N clips per label")
    ap.add_argument("--cache", default="", help="perception cache folder (outside the repo)")
    ap.add_argument("--fit", action="store_true", help="print genuine reference statistics (real clips only)")
    ap.add_argument("--json", default="", help="write metrics (and per-clip evidence) to this file")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per clip")
    args = ap.parse_args(argv)
    res = run(args)
    out = report(res, tuple(args.detectors))
    if args.fit:
        out["fit"] = fit(res, tuple(args.detectors))
    if args.json:
        out["clips"] = res["clips"]
        Path(args.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

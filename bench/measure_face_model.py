"""Measure the face-swap CNN on the corpus at clip level (until `interview-guard eval` exists).

    .venv/bin/python bench/measure_face_model.py [--json bench/results/face_model.json] [--update-manifest]

Protocol
* Clips: every ``video_real``, ``video_fake_faceswap`` and ``video_fake_reenact`` file of
  ``$IG_CORPUS`` (default ../shared/corpus), decoded with ``RecordingVideoSource(sample_fps=5)``,
  faces from the project's ``Perceiver`` (a fresh one per clip), primary face only.
* Frame score: the model's logit on ``aligned_crop(frame, landmarks, 128, scale=0.75)`` — the
  runtime's crop — for frames that pass the detector's quality gate (size >= 80 px, sharpness
  >= 1.5, |yaw|, |pitch| <= 35°). Clip score: the calibrated LLR of the mean frame logit (the
  mean of frame LLRs; the order is that of the mean logit). Clips with no usable frame are
  counted and left out (the detector abstains on them).
* Comparisons: real vs faceswap, real vs reenact, each for all real clips, for the real clips
  held out from training (the ``val`` split: other people/sources) and for the training ones
  (held in). Same-source pairs: DeepFaceLive ``real_left`` vs ``swap_right`` halves.
* Robustness: every real clip re-encoded at 300 kbps H.264 (PyAV, libx264), measured again:
  mean |Δ clip score| (probability units and LLR) and the AUC with the re-encoded reals.
* Spearman correlation of the clip score with the median face size on real clips (a face-size
  confound check, see ../shared/docs/evaluation.md).

Perception results and crops are cached in ``.cache/ig-eval/`` (delete to recompute).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.detectors.face_swap_cnn import CROP_SCALE, CROP_SIZE, FaceSwapCNNConfig  # noqa: E402
from interview_guard.training import dataset as ds  # noqa: E402
from interview_guard.training import metrics  # noqa: E402

EVAL_LABELS = ("video_real", "video_fake_faceswap", "video_fake_reenact")
CACHE = Path(os.environ.get("IG_EVAL_CACHE", REPO / ".cache" / "ig-eval"))
CACHE_VERSION = "1"


def log(msg: str) -> None:
    print(f"[measure {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def perceive_clip(path: Path, fps: float, key: str) -> dict:
    """Sampled frames' primary-face landmarks, quality numbers and aligned crops (cached)."""
    p = CACHE / "perception" / f"{key}.npz"
    if p.is_file():
        d = np.load(p)
        return {k: d[k] for k in d.files}
    from interview_guard.capture.recording import RecordingVideoSource
    from interview_guard.core.types import VideoFrame
    from interview_guard.perception import face_geometry as fg
    from interview_guard.perception.landmarks import Perceiver, PerceptionConfig

    rows = {"t_ns": [], "size": [], "sharp": [], "yaw": [], "pitch": [], "crops": []}
    with Perceiver(config=PerceptionConfig(hands_every=0)) as per:
        src = RecordingVideoSource(path, sample_fps=fps)
        for fr in src:
            if not isinstance(fr, VideoFrame):
                break
            obs = per.observe(fr, want_hands=False)
            f = obs.face
            if f is None:
                continue
            rows["t_ns"].append(fr.t_ns)
            rows["size"].append(f.size_px)
            rows["sharp"].append(f.sharpness)
            rows["yaw"].append(f.pose.yaw)
            rows["pitch"].append(f.pose.pitch)
            rows["crops"].append(fg.aligned_crop(fr.image, f.landmarks, CROP_SIZE, scale=CROP_SCALE))
    out = {k: np.asarray(v, np.float32) for k, v in rows.items() if k != "crops"}
    out["t_ns"] = np.asarray(rows["t_ns"], np.int64)
    out["crops"] = np.asarray(rows["crops"], np.uint8).reshape(-1, CROP_SIZE, CROP_SIZE, 3)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **out)
    os.replace(tmp, p)
    return out


def reencode(path: Path, bitrate: int = 300_000) -> Path:
    """The whole clip re-encoded with libx264 at ``bitrate`` (same size and frame rate)."""
    import av

    out = CACHE / "reencoded" / f"{path.stem}_{bitrate // 1000}k.mp4"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.mp4")
    with av.open(str(path)) as inp, av.open(str(tmp), "w") as o:
        vs = inp.streams.video[0]
        rate = vs.average_rate or vs.guessed_rate or 30
        st = o.add_stream("libx264", rate=rate)
        st.width = vs.codec_context.width // 2 * 2
        st.height = vs.codec_context.height // 2 * 2
        st.pix_fmt = "yuv420p"
        st.bit_rate = bitrate
        st.options = {"preset": "veryfast", "threads": "1"}
        for fr in inp.decode(vs):
            img = fr.to_ndarray(format="rgb24")[: st.height, : st.width]
            nf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            for pkt in st.encode(nf):
                o.mux(pkt)
        for pkt in st.encode():
            o.mux(pkt)
    os.replace(tmp, out)
    return out


def clip_scores(per: dict, model, cfg: FaceSwapCNNConfig) -> dict:
    ok = (per["size"] >= cfg.min_face_px) & (per["sharp"] >= cfg.min_sharpness) & \
         (np.abs(per["yaw"]) <= cfg.max_yaw_deg) & (np.abs(per["pitch"]) <= cfg.max_pitch_deg)
    n = int(ok.sum())
    if n == 0:
        return {"n_frames": int(len(ok)), "n_usable": 0, "llr": None, "score": None,
                "median_face_px": float(np.median(per["size"])) if len(per["size"]) else 0.0}
    lg = model.logits(per["crops"][ok])
    llr = float(model.slope * lg.mean() + model.intercept)
    return {"n_frames": int(len(ok)), "n_usable": n, "llr": llr, "score": 1 / (1 + math.exp(-llr)),
            "logit_mean": float(lg.mean()), "median_face_px": float(np.median(per["size"][ok]))}


def spearman(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3:
        return float("nan")
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="clip-level AUC of the face-swap CNN on the corpus")
    ap.add_argument("--fps", type=float, default=5.0)
    ap.add_argument("--json", default=str(REPO / "bench" / "results" / "face_model_measure.json"))
    ap.add_argument("--models-dir", default=None, help="models folder (default: the repo's models/)")
    ap.add_argument("--update-manifest", action="store_true", help="store the numbers in the manifest row 'quality'")
    ap.add_argument("--no-reencode", dest="reencode", action="store_true")
    ap.add_argument("--perception-only", action="store_true", help="fill the perception cache and stop")
    a = ap.parse_args(argv)
    a.reencode = not a.reencode
    root = ds.corpus_root()
    rows = [r for r in ds.manifest_rows(root) if r["label"] in EVAL_LABELS]
    split = {it.rel: it.split for it in ds.real_items(root)}

    t0 = time.time()
    pers = {}
    for r in rows:
        key = f"v{CACHE_VERSION}_{a.fps:g}fps__{r['label']}__{Path(r['file']).stem}"
        pers[r["file"]] = perceive_clip(root / r["file"], a.fps, key)
        log(f"perception {r['file']}: {len(pers[r['file']]['t_ns'])} faces")
    reenc = {}
    if a.reencode:
        for r in rows:
            if r["label"] != "video_real":
                continue
            rp = reencode(root / r["file"])
            key = f"v{CACHE_VERSION}_{a.fps:g}fps__reenc300k__{Path(r['file']).stem}"
            reenc[r["file"]] = perceive_clip(rp, a.fps, key)
            log(f"perception (300 kbps) {r['file']}")
    log(f"perception done in {time.time() - t0:.0f} s")
    if a.perception_only:
        return 0

    from interview_guard.detectors.face_swap_cnn import FaceSwapModel
    from interview_guard.perception.model_store import ModelStore

    store = ModelStore(Path(a.models_dir)) if a.models_dir else ModelStore()
    model = FaceSwapModel(store)
    cfg = FaceSwapCNNConfig()
    clips = {}
    for r in rows:
        s = clip_scores(pers[r["file"]], model, cfg)
        s.update(label=r["label"], split=split.get(r["file"], "-"))
        if r["file"] in reenc:
            s["reencoded_300k"] = clip_scores(reenc[r["file"]], model, cfg)
        clips[r["file"]] = s

    def llrs(pred) -> np.ndarray:
        return np.array([c["llr"] for f, c in clips.items() if c["llr"] is not None and pred(f, c)])

    real_all = llrs(lambda f, c: c["label"] == "video_real")
    real_out = llrs(lambda f, c: c["label"] == "video_real" and c["split"] == "val")
    real_in = llrs(lambda f, c: c["label"] == "video_real" and c["split"] == "train")
    res: dict = {"protocol": __doc__.split("Perception results")[0].strip(), "pairs": {}, "model_sha256":
                 store.row("face_swap_cnn").sha256}
    for fake in ("video_fake_faceswap", "video_fake_reenact"):
        fk = llrs(lambda f, c, fake=fake: c["label"] == fake)
        res["pairs"][f"video_real|{fake}"] = {
            "all_real": metrics.summary(real_all, fk),
            "held_out_real (val split, never trained on)": metrics.summary(real_out, fk),
            "held_in_real (train split)": metrics.summary(real_in, fk),
        }
    # same-source DeepFaceLive halves
    pairs = []
    for f, c in clips.items():
        if c["label"] == "video_fake_faceswap" and f.endswith("_swap_right.mp4"):
            rf = f.replace("video_fake_faceswap/", "video_real/").replace("_swap_right", "_real_left")
            if rf in clips and c["llr"] is not None and clips[rf]["llr"] is not None:
                pairs.append((clips[rf]["llr"], c["llr"], clips[rf]["split"]))
    if pairs:
        pr = np.array([(p[0], p[1]) for p in pairs])
        res["dfl_same_source_halves"] = {
            "auc": round(metrics.auc(pr[:, 0], pr[:, 1]), 4), "n_pairs": len(pairs),
            "fake_above_its_real": round(float((pr[:, 1] > pr[:, 0]).mean()), 4),
            "held_out_pairs_fake_above_real": round(float(np.mean([p[1] > p[0] for p in pairs if p[2] == "val"])), 4)
            if any(p[2] == "val" for p in pairs) else None,
        }
    # re-encoding robustness
    if reenc:
        d_prob, d_llr, re_llr = [], [], []
        for f, c in clips.items():
            r2 = c.get("reencoded_300k")
            if r2 and r2["llr"] is not None and c["llr"] is not None:
                d_prob.append(abs(r2["score"] - c["score"]))
                d_llr.append(abs(r2["llr"] - c["llr"]))
                re_llr.append(r2["llr"])
        re_llr = np.array(re_llr)
        rob = {"n_clips": len(d_prob), "mean_abs_delta_score": round(float(np.mean(d_prob)), 4),
               "mean_abs_delta_llr": round(float(np.mean(d_llr)), 4)}
        for fake in ("video_fake_faceswap", "video_fake_reenact"):
            fk = llrs(lambda f, c, fake=fake: c["label"] == fake)
            a0 = metrics.auc(real_all, fk)
            a1 = metrics.auc(re_llr, fk)
            rob[f"auc_{fake}_original_reals"] = round(a0, 4)
            rob[f"auc_{fake}_reals_reencoded_300k"] = round(a1, 4)
            rob[f"auc_change_{fake}"] = round(a1 - a0, 4)
        res["reencode_300k_h264"] = rob
    sizes = [(c["median_face_px"], c["llr"]) for c in clips.values() if c["label"] == "video_real" and c["llr"] is not None]
    res["spearman_score_vs_face_size_real"] = round(spearman([s[0] for s in sizes], [s[1] for s in sizes]), 4)
    res["abstained_clips"] = {lab: int(sum(1 for c in clips.values() if c["label"] == lab and c["llr"] is None))
                              for lab in EVAL_LABELS}
    res["clips"] = {f: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in c.items() if k != "reencoded_300k"}
                    | ({"llr_reencoded_300k": round(c["reencoded_300k"]["llr"], 4)}
                       if c.get("reencoded_300k", {}).get("llr") is not None else {})
                    for f, c in clips.items()}
    out = Path(a.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + "\n")
    short = {k: v for k, v in res.items() if k not in ("clips", "protocol")}
    print(json.dumps(short, indent=2))
    if a.update_manifest:
        _update_manifest(store, res)
    return 0


def _update_manifest(store, res: dict) -> None:
    p = store.dir / "manifest.json"
    data = json.loads(p.read_text())
    for row in data["models"]:
        if row.get("id") == "face_swap_cnn":
            if row["sha256"] != res["model_sha256"]:
                raise SystemExit("the manifest row describes another file; retrain/measure again")
            q = row.setdefault("quality", {})
            q["corpus_clip_level"] = {
                "command": "bench/measure_face_model.py (5 fps, gated frames, clip = mean frame LLR)",
                "pairs": res["pairs"],
                "dfl_same_source_halves": res.get("dfl_same_source_halves"),
                "reencode_300k_h264": res.get("reencode_300k_h264"),
                "spearman_score_vs_face_size_real": res["spearman_score_vs_face_size_real"],
                "abstained_clips": res["abstained_clips"],
            }
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, p)
    log(f"quality written to {p}")


if __name__ == "__main__":
    raise SystemExit(main())

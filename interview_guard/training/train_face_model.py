"""Train the face-swap CNN from real faces and pseudo-fakes; export ONNX; write its manifest row.

    python -m interview_guard.training.train_face_model --out models/ [--smoke]

Steps (each cached under ``.cache/ig-train/`` — override with ``IG_TRAIN_CACHE``):

1. landmarks of every real corpus face file (``dataset.landmarks_for``, MediaPipe);
2. pseudo-fakes + call degradations as aligned crops (``dataset.build_samples``), split by
   person/source into train and val (never the corpus' fake clips);
3. training: AdamW, cosine schedule, BCE on the logit + BCE on the 32x32 blend-boundary map,
   horizontal flips; seeded (torch, numpy), deterministic data order, ``torch.set_num_threads``
   ≤ 2;
4. export to ONNX (opset 17, dynamic batch); the validation AUC and the Platt calibration
   (llr = slope·logit + intercept) are measured **with onnxruntime** on the val pseudo-fakes,
   i.e. on exactly what the runtime runs;
5. ``<out>/face_swap_cnn.onnx``, ``<out>/face_swap_cnn.training.json``, and the manifest row in
   ``<out>/manifest.json`` (rows of other models are kept).

``--smoke``: a handful of stills and one short clip, one short epoch — seconds, for CI.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from interview_guard.training import dataset as ds
from interview_guard.training import metrics

SMOKE_TRAIN = ("deepface_img10", "deepface_img12", "deepface_img14", "deepface_img16", "lp_driving_d1")
SMOKE_VAL = ("silentfas_image_T1", "tpsmm_source")


def _log(msg: str) -> None:
    print(f"[train-face-model {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _items(smoke: bool) -> list[ds.MediaItem]:
    items = ds.real_items()
    if smoke:
        items = [it for it in items if it.stem in SMOKE_TRAIN + SMOKE_VAL]
        items = [ds.MediaItem(it.path, it.rel, it.label, it.group, "val" if it.stem in SMOKE_VAL else "train")
                 for it in items]
    return items


def _fill_landmarks(items: list[ds.MediaItem], workers: int) -> None:
    """Landmark cache for every item (in ``workers`` processes when several files are missing)."""
    missing = [it for it in items if not ds._landmarks_path(it).is_file()]
    if not missing:
        return
    _log(f"landmarks: {len(missing)} files to run through MediaPipe")
    if workers > 1 and len(missing) > 1:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(workers) as pool:
            for it, _ in zip(missing, pool.imap(_landmark_job, missing)):
                _log(f"  landmarks {it.rel}")
    else:
        for it in missing:
            _landmark_job(it)
            _log(f"  landmarks {it.rel}")


def _landmark_job(item: ds.MediaItem) -> int:
    return len(ds.landmarks_for(item).t_ns)


def _batches(n: int, batch: int, rng: np.random.Generator):
    perm = rng.permutation(n)
    for i in range(0, n - batch + 1 if n >= batch else 1, batch):
        yield perm[i:i + batch]


def train(args) -> dict:
    import torch
    import torch.nn.functional as F

    from interview_guard.training.face_model import FaceSwapNet, n_params

    t0 = time.time()
    torch.set_num_threads(max(1, min(2, args.threads)))
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(args.seed)

    items = _items(args.smoke)
    cfg = ds.GenConfig(seed=args.seed, max_segs=3, still_segs=3) if args.smoke else ds.GenConfig(seed=args.seed)
    _fill_landmarks(items, args.workers)
    t_lm = time.time()
    data = ds.build_samples(items, cfg, workers=args.workers, log=_log)
    t_gen = time.time()
    tr, va = data["train"], data["val"]
    _log(f"samples: train {len(tr['y'])} ({int(tr['y'].sum())} fake), val {len(va['y'])} ({int(va['y'].sum())} fake); "
         f"landmarks {t_lm - t0:.0f} s, generation {t_gen - t_lm:.0f} s")

    model = FaceSwapNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.wd)
    n = len(tr["y"])
    batch = min(args.batch, n)
    steps_per_epoch = max(1, n // batch)
    total = steps_per_epoch * args.epochs
    warm = max(1, min(200, total // 20))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + np.cos(np.pi * min(1.0, s / total))))
    X = torch.from_numpy(tr["x"])
    Y = torch.from_numpy(tr["y"].astype(np.float32))
    B = torch.from_numpy(tr["b"])
    history = []
    step = 0
    for ep in range(args.epochs):
        model.train()
        te = time.time()
        tot, nb = 0.0, 0
        for idx in _batches(n, batch, rng):
            idx_t = torch.from_numpy(idx)
            x = X[idx_t].permute(0, 3, 1, 2).float().div_(255.0)
            b = B[idx_t].float().div_(255.0).unsqueeze(1)
            flip = torch.from_numpy(rng.random(len(idx)) < 0.5)
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
            b = torch.where(flip.view(-1, 1, 1, 1), b.flip(3), b)
            y = Y[idx_t].unsqueeze(1)
            logit, aux = model.forward_train(x)
            loss = F.binary_cross_entropy_with_logits(logit, y) + \
                args.aux_weight * F.binary_cross_entropy_with_logits(aux, b)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            tot += loss.item()
            nb += 1
            if step % 50 == 0:
                _log(f"  epoch {ep + 1} step {step}/{total} loss {tot / nb:.4f} "
                     f"({nb * batch / (time.time() - te):.1f} img/s)")
        rec = {"epoch": ep + 1, "train_loss": round(tot / max(nb, 1), 4), "seconds": round(time.time() - te, 1)}
        if args.val_every and ((ep + 1) % args.val_every == 0) and ep + 1 < args.epochs:
            va_logits = _torch_logits(model, va["x"])
            rec["val_auc"] = round(metrics.auc(va_logits[va["y"] == 0], va_logits[va["y"] == 1]), 4)
        history.append(rec)
        _log(f"epoch {ep + 1}/{args.epochs}: " + ", ".join(f"{k} {v}" for k, v in rec.items() if k != "epoch"))
    t_train = time.time()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from interview_guard.training import export

    onnx_path = out / export.MODEL_FILE
    export.export_onnx(model, onnx_path)
    sess = export.ort_session(onnx_path, threads=1)
    va_ort = export.ort_logits(sess, va["x"])
    diff = float(np.abs(va_ort - _torch_logits(model, va["x"])).max()) if len(va_ort) else 0.0
    if diff > 1e-3:
        raise RuntimeError(f"ONNX and torch disagree by {diff:.2e} on validation crops")
    slope, intercept = metrics.platt_fit(va_ort, va["y"])
    yv = va["y"]
    val = metrics.summary(va_ort[yv == 0], va_ort[yv == 1])
    per_kind = {}
    for ki, kn in enumerate(ds.KIND_NAMES):
        if ki == 0:
            continue
        sel = va["kind"] == ki
        if sel.any():
            per_kind[kn] = round(metrics.auc(va_ort[yv == 0], va_ort[sel]), 4)
    per_codec = {}
    for ci, cn in enumerate(ds.CODEC_NAMES):
        sel = va["codec"] == ci
        if (sel & (yv == 0)).any() and (sel & (yv == 1)).any():
            per_codec[cn] = round(metrics.auc(va_ort[sel & (yv == 0)], va_ort[sel & (yv == 1)]), 4)
    val.update({"per_kind_auc": per_kind, "per_codec_auc": per_codec})
    n_tr_items = sorted({items[i].rel for i in np.unique(tr["item"])}) if len(tr["y"]) else []
    n_va_items = sorted({items[i].rel for i in np.unique(va["item"])}) if len(va["y"]) else []
    report = {
        "seed": args.seed,
        "smoke": bool(args.smoke),
        "gen_key": cfg.key(),
        "epochs": args.epochs, "batch": batch, "lr": args.lr, "weight_decay": args.wd,
        "aux_weight": args.aux_weight, "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "params": n_params(model),
        "onnx_bytes": onnx_path.stat().st_size,
        "onnx_torch_max_abs_diff": diff,
        "seconds": {"landmarks": round(t_lm - t0, 1), "generation": round(t_gen - t_lm, 1),
                    "training": round(t_train - t_gen, 1), "total": round(time.time() - t0, 1)},
        "history": history,
        "val": val,
        "calibration": {"method": "Platt (logistic) fit of the logit on the val pseudo-fakes (1:1 real:fake), "
                                  "so slope*logit + intercept is a log-likelihood ratio fake vs genuine",
                        "slope": round(slope, 6), "intercept": round(intercept, 6),
                        "n": int(len(yv))},
        "training_data": {
            "description": "real faces only: frames of the corpus' video_real clips (first 12 s) and image_real_face "
                           "stills, with seeded pseudo-fakes made from them (SBI self-blends; swapper-like "
                           "128-px-bottleneck pastes through the Deep-Live-Cam ellipse, InsightFace eroded square, "
                           "FaceFusion box or landmark hull; other-person transplants with RCT colour transfer; "
                           "stale landmarks; GFPGAN-like over-sharpening), then identical call degradations for "
                           "each real segment and its fake (downscale, low light, noise, H.264/VP8 300 kbps-1.5 "
                           "Mbps via PyAV, or JPEG). No video_fake_faceswap / video_fake_reenact clip is used.",
            "corpus": "../shared/corpus (MANIFEST.tsv); files not redistributed",
            "split": "by person/source group (crc32 hash, salt %r, %.0f%% of groups to val); identities disjoint"
                     % (ds.SPLIT_SALT, 100 * ds.VAL_SHARE),
            "train_files": n_tr_items,
            "val_files": n_va_items,
            "train_crops": int(len(tr["y"])), "val_crops": int(len(yv)),
        },
    }
    (out / "face_swap_cnn.training.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.update_manifest:
        p = export.update_manifest(out, export.manifest_row(onnx_path, report=report))
        _log(f"manifest row written to {p}")
    _log(f"done: val AUC {val['auc']:.4f}, params {report['params']}, ONNX {report['onnx_bytes']} B, "
         f"calibration llr = {slope:.4f}*logit + {intercept:+.4f}, total {time.time() - t0:.0f} s")
    return report


def _torch_logits(model, x_uint8: np.ndarray, batch: int = 128) -> np.ndarray:
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x_uint8), batch):
            x = torch.from_numpy(x_uint8[i:i + batch]).permute(0, 3, 1, 2).float().div_(255.0)
            out.append(model(x)[:, 0].numpy())
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True, help="output folder (models/ for the shipped model)")
    ap.add_argument("--smoke", action="store_true", help="tiny subset, one short epoch (CI)")
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--aux-weight", type=float, default=1.0)
    ap.add_argument("--val-every", type=int, default=0, help="also report val AUC every N epochs (0: only at the end)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (at most 2)")
    ap.add_argument("--workers", type=int, default=2, help="processes for landmarks / pseudo-fake generation")
    ap.add_argument("--no-manifest", dest="update_manifest", action="store_false",
                    help="do not write the row into <out>/manifest.json")
    args = ap.parse_args(argv)
    if args.epochs is None:
        args.epochs = 1 if args.smoke else 5
    if args.smoke:
        args.batch = min(args.batch, 16)
        args.workers = 1
    if not (ds.corpus_root() / "MANIFEST.tsv").is_file():
        print(f"error: the media corpus is missing at {ds.corpus_root()} (set IG_CORPUS)", file=sys.stderr)
        return 2
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real faces for training: which corpus files, how they are split, and cached landmarks.

Only **real** media are read here: ``video_real`` clips and ``image_real_face`` stills. The
fakes (``video_fake_faceswap``, ``video_fake_reenact``) are evaluation targets and never enter
training (``assert_no_fakes`` guards it).

Split. Files are grouped by person/source (``group_of``): the two DeepFaceLive demo halves
named after one DFM model (``dfl_<Name>_<k>_real_left``) form one group, Obama footage from two
repos forms one group, the deepface celebrity stills plus the DiCaprio driving clip form one
group (identities repeat across them), and so on. A group goes wholly to ``train`` or ``val``
by a fixed hash (``split_of``), so identities never cross. ``val`` real clips are never trained
on; they give the pseudo-fake validation AUC, the calibration fit, and the "held-out source"
corpus numbers.

Cache. Landmarks are the expensive part (MediaPipe, ~10–30 ms a frame). ``landmarks_for``
runs the project's ``Perceiver`` once per file and stores ``.cache/ig-train/landmarks/<stem>.npz``
(per frame: t_ns, 478x3 landmarks of the largest face or NaN, yaw, size_px, sharpness).
Decoded frames are not cached: re-decoding a clip with PyAV is cheaper than reading them back.
"""

from __future__ import annotations

import csv
import os
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from interview_guard.training.pseudo_fakes import FAKE_KINDS

REPO = Path(__file__).resolve().parents[2]
REAL_LABELS = ("video_real", "image_real_face")
FAKE_LABELS = ("video_fake_faceswap", "video_fake_reenact", "image_fake_face")
MAX_CLIP_S = 12.0          # longer clips contribute their first 12 s only
SPLIT_SALT = "ig-face-swap-v1"
VAL_SHARE = 0.4            # fraction of groups (by hash) held out for validation


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def cache_root() -> Path:
    return Path(os.environ.get("IG_TRAIN_CACHE", REPO / ".cache" / "ig-train"))


@dataclass(frozen=True)
class MediaItem:
    path: Path
    rel: str          # path relative to the corpus root
    label: str
    group: str
    split: str        # "train" | "val"

    @property
    def stem(self) -> str:
        return Path(self.rel).stem

    @property
    def is_video(self) -> bool:
        return self.label.startswith("video")


def group_of(rel: str) -> str:
    """Person/source group of a corpus file (identities never cross groups)."""
    stem = Path(rel).stem
    m = re.match(r"dfl_(.+)_\d+_(real_left|swap_right)$", stem)
    if m:
        return f"dfl-{m.group(1)}"
    if stem in ("dfl_sample_Obama_speaking", "fomm_driving_00"):
        return "obama"
    if stem == "dfl_sample_Ben_Stiller_Owen_Wilson" or stem == "dfl_insight_faceswap_example":
        return "stiller"
    if stem.startswith("deepface_") or stem == "fomm_driving_10":
        return "deepface-celebs"          # DiCaprio appears in both
    m = re.match(r"aniportrait_(.+?)_(driving_real|generated)$", stem)
    if m:
        return f"ani-{m.group(1)}"
    if stem.startswith("tpsmm_"):
        return "tpsmm"
    if stem.startswith("silentfas_"):
        return "silentfas"
    return stem


def split_of(group: str) -> str:
    h = zlib.crc32(f"{SPLIT_SALT}:{group}".encode()) / 0xFFFFFFFF
    return "val" if h < VAL_SHARE else "train"


def manifest_rows(root: Path | None = None) -> list[dict]:
    root = root or corpus_root()
    with open(root / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def real_items(root: Path | None = None) -> list[MediaItem]:
    """Every real face file of the corpus with its group and split, sorted by path."""
    root = root or corpus_root()
    out = []
    for r in manifest_rows(root):
        if r["label"] not in REAL_LABELS:
            continue
        g = group_of(r["file"])
        out.append(MediaItem(path=root / r["file"], rel=r["file"], label=r["label"], group=g, split=split_of(g)))
    out.sort(key=lambda it: it.rel)
    assert_no_fakes(out)
    return out


def assert_no_fakes(items) -> None:
    for it in items:
        if it.label in FAKE_LABELS or "fake" in it.rel.split("/")[0]:
            raise AssertionError(f"{it.rel} is a fake: fakes never enter training")


# ---------------------------------------------------------------------------------------------
# Decoding and landmarks


def iter_frames(item: MediaItem, *, max_s: float = MAX_CLIP_S) -> Iterator[tuple[int, np.ndarray]]:
    """(t_ns, RGB uint8 frame) for a clip (every frame up to ``max_s``) or a still (one frame)."""
    if not item.is_video:
        import cv2

        bgr = cv2.imread(str(item.path), cv2.IMREAD_COLOR)
        if bgr is None:
            return
        img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        h, w = img.shape[:2]
        if max(h, w) > 1280:                     # huge stills: bring to webcam scale
            f = 1280 / max(h, w)
            img = cv2.resize(img, (int(w * f) // 2 * 2, int(h * f) // 2 * 2), interpolation=cv2.INTER_AREA)
        yield 0, np.ascontiguousarray(img)
        return
    from interview_guard.capture.recording import RecordingVideoSource
    from interview_guard.core.types import VideoFrame

    src = RecordingVideoSource(item.path)
    try:
        for fr in src:
            if not isinstance(fr, VideoFrame):
                break
            if fr.t_ns > max_s * 1e9:
                break
            yield fr.t_ns, fr.image
    finally:
        src.close()


@dataclass
class FaceTrack:
    """Per-frame landmarks of one file's largest face (NaN where none)."""

    t_ns: np.ndarray        # (n,) int64
    landmarks: np.ndarray   # (n, 478, 3) float32, NaN when no face
    yaw: np.ndarray         # (n,) float32
    size_px: np.ndarray     # (n,) float32 (0 when no face)
    sharpness: np.ndarray   # (n,) float32

    def has_face(self) -> np.ndarray:
        return np.isfinite(self.landmarks[:, 0, 0])


def _landmarks_path(item: MediaItem) -> Path:
    return cache_root() / "landmarks" / f"{item.label}__{item.stem}.npz"


def landmarks_for(item: MediaItem, perceiver=None) -> FaceTrack:
    """Cached face track of a file (computed with the project's Perceiver on first use)."""
    p = _landmarks_path(item)
    if p.is_file():
        d = np.load(p)
        return FaceTrack(d["t_ns"], d["landmarks"], d["yaw"], d["size_px"], d["sharpness"])
    from interview_guard.core.types import VideoFrame
    from interview_guard.perception.landmarks import Perceiver, PerceptionConfig

    own = perceiver is None
    if own:
        perceiver = Perceiver(config=PerceptionConfig(max_faces=2, hands_every=0))
    ts, lms, yaw, size, sharp = [], [], [], [], []
    try:
        if not item.is_video:
            # stills: a fresh VIDEO-mode graph per file (tracking state must not carry over)
            if not own:
                perceiver.close()
                perceiver = Perceiver(config=PerceptionConfig(max_faces=2, hands_every=0))
                own = True
        for i, (t_ns, img) in enumerate(iter_frames(item)):
            obs = perceiver.observe(VideoFrame(t_ns=t_ns, index=i, image=img), want_hands=False)
            ts.append(t_ns)
            f = obs.face
            if f is None:
                lms.append(np.full((478, 3), np.nan, np.float32))
                yaw.append(np.nan), size.append(0.0), sharp.append(0.0)
            else:
                lms.append(f.landmarks.astype(np.float32))
                yaw.append(f.pose.yaw), size.append(f.size_px), sharp.append(f.sharpness)
    finally:
        if own:
            perceiver.close()
    track = FaceTrack(np.asarray(ts, np.int64), np.asarray(lms, np.float32).reshape(-1, 478, 3),
                      np.asarray(yaw, np.float32), np.asarray(size, np.float32), np.asarray(sharp, np.float32))
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, t_ns=track.t_ns, landmarks=track.landmarks, yaw=track.yaw,
                        size_px=track.size_px, sharpness=track.sharpness)
    os.replace(tmp, p)
    return track


def main(argv: list[str] | None = None) -> int:
    """``python -m interview_guard.training.dataset [--list] [--shard i/n]``: fill the landmark cache."""
    import argparse
    import time

    ap = argparse.ArgumentParser()
    ap.add_argument("--list", action="store_true", help="print files, groups and splits, then exit")
    ap.add_argument("--shard", default="0/1", help="i/n: only every n-th file starting at i")
    a = ap.parse_args(argv)
    items = real_items()
    if a.list:
        for it in items:
            print(f"{it.split:5s} {it.group:28s} {it.rel}")
        n_tr = len({it.group for it in items if it.split == "train"})
        n_va = len({it.group for it in items if it.split == "val"})
        print(f"{len(items)} files; groups: train {n_tr}, val {n_va}")
        return 0
    i, n = (int(x) for x in a.shard.split("/"))
    for k, it in enumerate(items):
        if k % n != i:
            continue
        t = time.time()
        tr = landmarks_for(it)
        print(f"{it.rel}: {len(tr.t_ns)} frames, {int(tr.has_face().sum())} with a face, {time.time() - t:.1f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# ---------------------------------------------------------------------------------------------
# Pseudo-fake samples: real segments and their fakes, degraded alike, as aligned crops

GEN_VERSION = "2"   # 2: VP8 at a fixed speed (1 let libvpx adapt its speed to the load)
KIND_NAMES = ("real",) + FAKE_KINDS
CODEC_NAMES = ("none", "jpeg", "h264", "vp8")


@dataclass(frozen=True)
class GenConfig:
    seed: int = 20240611
    seg_len: int = 4                # frames per coded segment (video)
    crop_offsets: tuple[int, ...] = (1, 3)   # crops from frames L-1 and L-3 (P-frames)
    frames_per_seg: int = 5         # one segment per this many usable frames...
    max_segs: int = 32              # ...capped per clip
    roi_iod: float = 6.5            # work on a square face region this many inter-ocular distances wide
    still_segs: int = 12            # segments (different recipes) per still
    min_face_px: float = 70.0
    max_yaw: float = 45.0
    max_decode_side: int = 960      # frames larger than this are downscaled on decode
    donors_per_item: int = 4
    lm_jitter: float = 0.012        # landmark noise (× inter-ocular distance) before cropping

    def key(self) -> str:
        import hashlib
        import json
        from dataclasses import asdict

        return hashlib.sha256(json.dumps([GEN_VERSION, asdict(self)], sort_keys=True).encode()).hexdigest()[:12]


def _item_seed(cfg: GenConfig, item: MediaItem, what: str) -> int:
    return zlib.crc32(f"{cfg.seed}:{what}:{item.rel}".encode())


def _usable(track: FaceTrack, cfg: GenConfig, scale: float) -> np.ndarray:
    ok = track.has_face() & (track.size_px * scale >= cfg.min_face_px)
    with np.errstate(invalid="ignore"):
        ok &= np.abs(np.nan_to_num(track.yaw, nan=999.0)) <= cfg.max_yaw
    return ok


def _decode_scale(item: MediaItem, cfg: GenConfig) -> float:
    for _, img in iter_frames(item, max_s=0.0001):
        return min(1.0, cfg.max_decode_side / max(img.shape[:2]))
    return 1.0


def _frames_scaled(item: MediaItem, s: float):
    import cv2

    for t, img in iter_frames(item):
        if s < 1.0:
            h, w = img.shape[:2]
            img = cv2.resize(img, (int(w * s) // 2 * 2, int(h * s) // 2 * 2), interpolation=cv2.INTER_AREA)
        yield t, img


def build_donors(items: list[MediaItem], cfg: GenConfig) -> dict:
    """Donor faces for transplants: a few InsightFace 128 crops per item, with group and yaw."""
    import cv2

    from interview_guard.training import pseudo_fakes as pf

    p = cache_root() / "donors" / f"{cfg.key()}.npz"
    if p.is_file():
        d = np.load(p, allow_pickle=False)
        return {k: d[k] for k in d.files}
    crops, groups, yaws, splits = [], [], [], []
    for it in items:
        tr = landmarks_for(it)
        s = 1.0
        ok = np.flatnonzero(_usable(tr, cfg, 1.0))
        if len(ok) == 0:
            continue
        pick = set(ok[np.linspace(0, len(ok) - 1, min(cfg.donors_per_item, len(ok))).round().astype(int)].tolist())
        for i, (_, img) in enumerate(iter_frames(it)):
            if i in pick:
                try:
                    m = pf.insight_matrix(tr.landmarks[i])
                except ValueError:
                    continue
                crops.append(cv2.warpAffine(img, m, (128, 128), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE))
                groups.append(it.group), yaws.append(float(tr.yaw[i])), splits.append(it.split)
            if i >= max(pick):
                break
        del s
    out = {"crops": np.asarray(crops, np.uint8), "groups": np.asarray(groups), "yaws": np.asarray(yaws, np.float32),
           "splits": np.asarray(splits)}
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    os.replace(tmp, p)
    return out


def _pick_donor(donors: dict, item: MediaItem, yaw: float, rng: np.random.Generator) -> np.ndarray | None:
    ok = (donors["splits"] == item.split) & (donors["groups"] != item.group)
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        return None
    near = idx[np.abs(donors["yaws"][idx] - yaw) < 15]
    pool = near if len(near) >= 3 else idx
    return donors["crops"][int(rng.choice(pool))]


def _crop_pair(real_f, fake_f, alpha, lm, jit, sx, sy):
    """Aligned model crops of a degraded real/fake frame and the 32x32 boundary map."""
    import cv2

    from interview_guard.perception import face_geometry as fg
    from interview_guard.training.pseudo_fakes import MODEL_CROP_SCALE as CROP_SCALE
    from interview_guard.training.pseudo_fakes import MODEL_INPUT_SIZE as INPUT_SIZE

    l2 = lm.copy()
    l2[:, :2] += jit
    l2[:, 0] *= sx
    l2[:, 1] *= sy
    cr = fg.aligned_crop(real_f, l2, INPUT_SIZE, scale=CROP_SCALE)
    cf = fg.aligned_crop(fake_f, l2, INPUT_SIZE, scale=CROP_SCALE)
    h, w = real_f.shape[:2]
    a = cv2.resize(alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    a8 = np.repeat((a * 255 + 0.5).astype(np.uint8)[..., None], 3, axis=2)
    ac = fg.aligned_crop(a8, l2, INPUT_SIZE, scale=CROP_SCALE)[..., 0].astype(np.float32) / 255.0
    b = cv2.resize(4 * ac * (1 - ac), (32, 32), interpolation=cv2.INTER_AREA)
    return cr, cf, (np.clip(b, 0, 1) * 255 + 0.5).astype(np.uint8)


def generate_item(item: MediaItem, cfg: GenConfig, donors: dict) -> dict:
    """All real/fake crops of one file (deterministic given cfg.seed and the file)."""
    from collections import deque
    from dataclasses import replace

    from interview_guard.perception import face_geometry as fg
    from interview_guard.training import pseudo_fakes as pf

    rng = np.random.default_rng(_item_seed(cfg, item, "gen"))
    track = landmarks_for(item)
    ds = _decode_scale(item, cfg)
    ok = _usable(track, cfg, ds)
    L = cfg.seg_len if item.is_video else 1
    n = len(track.t_ns)
    if item.is_video:
        run = np.convolve(ok.astype(int), np.ones(L, int), mode="full")[:n]   # usable frames ending at i
        cands = np.flatnonzero(run >= L)
        n_seg = min(cfg.max_segs, len(cands) // cfg.frames_per_seg)
        ends = np.sort(rng.choice(cands, n_seg, replace=False)) if n_seg > 0 else np.array([], int)
        ends_list = ends.tolist()
    else:
        ends_list = [0] * cfg.still_segs if ok[:1].all() else []
    X, Y, B, K, C, P = [], [], [], [], [], []
    if not ends_list:
        return _pack(X, Y, B, K, C, P)
    buf: deque = deque(maxlen=L + 5)
    pair = 0
    ptr = 0
    for i, (_, img) in enumerate(_frames_scaled(item, ds)):
        buf.append(img)
        while ptr < len(ends_list) and ends_list[ptr] == i:
            ptr += 1
            full = list(buf)[-L:]
            idx = list(range(i - L + 1, i + 1))
            lms = [track.landmarks[j].copy() for j in idx]
            for lm in lms:
                lm[:, :2] *= ds
            # a face region (all frames of the segment share it): fakes and codecs run on it only
            fh, fw = full[0].shape[:2]
            c = lms[-1][[fg.IRIS_LEFT, fg.IRIS_RIGHT, fg.NOSE_TIP, fg.MOUTH_LEFT, fg.MOUTH_RIGHT], :2].mean(0)
            half = cfg.roi_iod * pf.iod(lms[-1]) / 2
            x0, y0 = int(max(0, c[0] - half)) // 2 * 2, int(max(0, c[1] - half)) // 2 * 2
            x1, y1 = min(fw, int(c[0] + half)), min(fh, int(c[1] + half))
            x1, y1 = x0 + max(16, (x1 - x0) // 2 * 2), y0 + max(16, (y1 - y0) // 2 * 2)
            if x1 > fw or y1 > fh:
                continue
            frames = [np.ascontiguousarray(f[y0:y1, x0:x1]) for f in full]
            for lm in lms:
                lm[:, 0] -= x0
                lm[:, 1] -= y0
            area_ratio = (x1 - x0) * (y1 - y0) / float(fw * fh)
            have_hist = item.is_video and all(j - 4 >= 0 and ok[j - 4] for j in idx)
            recipe = pf.sample_recipe(rng, have_donor=True, have_history=have_hist)
            donor = _pick_donor(donors, item, float(track.yaw[i]), rng) if recipe.kind == "swap_donor" else None
            if recipe.kind == "swap_donor" and donor is None:
                recipe.kind = "swap_self"
            fseed = int(rng.integers(2**31))
            fakes, alphas = [], []
            try:
                for f, lm, j in zip(frames, lms, idx):
                    stale = None
                    if recipe.params.get("stale_k"):
                        stale = track.landmarks[j - recipe.params["stale_k"]].copy()
                        stale[:, :2] *= ds
                        stale[:, 0] -= x0
                        stale[:, 1] -= y0
                    fk, a = pf.fake_frame(f, lm, recipe, np.random.default_rng(fseed), donor=donor, stale_lm=stale)
                    fakes.append(fk)
                    alphas.append(a)
            except ValueError:
                continue
            face_px = float(track.size_px[i] * ds)
            deg = pf.sample_degradation(rng, face_px, (fw, fh))
            # same bits per pixel as the whole (downscaled) frame would get
            deg = replace(deg, bitrate=max(30_000, int(deg.bitrate * area_ratio)))
            real_d = pf.degrade_segment(frames, deg)
            fake_d = pf.degrade_segment(fakes, deg)
            sx, sy = pf.frame_scale(frames, real_d)
            offs = [o for o in cfg.crop_offsets if o <= L] if item.is_video else [1]
            for o in offs:
                k = L - o
                d = pf.iod(lms[k])
                jit = rng.normal(0, cfg.lm_jitter * d, (478, 2)).astype(np.float32)
                cr, cf, b = _crop_pair(real_d[k], fake_d[k], alphas[k], lms[k], jit, sx, sy)
                kind_i = KIND_NAMES.index(recipe.kind)
                codec_i = CODEC_NAMES.index(deg.codec)
                X += [cr, cf]
                Y += [0, 1]
                B += [np.zeros_like(b), b]
                K += [0, kind_i]
                C += [codec_i, codec_i]
                P += [pair, pair]
                pair += 1
        if ptr >= len(ends_list):
            break
    return _pack(X, Y, B, K, C, P)


def _pack(X, Y, B, K, C, P) -> dict:
    return {"x": np.asarray(X, np.uint8).reshape(-1, 128, 128, 3), "y": np.asarray(Y, np.uint8),
            "b": np.asarray(B, np.uint8).reshape(-1, 32, 32), "kind": np.asarray(K, np.uint8),
            "codec": np.asarray(C, np.uint8), "pair": np.asarray(P, np.int32)}


def _gen_job(args) -> str:
    item, cfg, donors_path = args
    import cv2

    cv2.setNumThreads(1)
    p = cache_root() / "samples" / cfg.key() / f"{item.label}__{item.stem}.npz"
    if p.is_file():
        return str(p)
    d = np.load(donors_path)
    donors = {k: d[k] for k in d.files}
    out = generate_item(item, cfg, donors)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".tmp.npz")
    np.savez(tmp, **out)
    os.replace(tmp, p)
    return str(p)


def build_samples(items: list[MediaItem], cfg: GenConfig, *, workers: int = 2, log=print) -> dict[str, dict]:
    """Generate (or load from cache) every item's crops; concatenate per split in item order."""
    import multiprocessing as mp

    assert_no_fakes(items)
    donors = build_donors(items, cfg)
    donors_path = cache_root() / "donors" / f"{cfg.key()}.npz"
    jobs = [(it, cfg, str(donors_path)) for it in items]
    paths: dict[str, str] = {}
    todo = [j for j in jobs if not (cache_root() / "samples" / cfg.key() / f"{j[0].label}__{j[0].stem}.npz").is_file()]
    if todo:
        log(f"generating pseudo-fakes for {len(todo)} files with {workers} workers")
    if workers > 1 and len(todo) > 1:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers) as pool:
            for it_job, p in zip(todo, pool.imap(_gen_job, todo)):
                log(f"  {it_job[0].rel}")
    else:
        for j in todo:
            _gen_job(j)
            log(f"  {j[0].rel}")
    for it, _, _ in jobs:
        paths[it.rel] = str(cache_root() / "samples" / cfg.key() / f"{it.label}__{it.stem}.npz")
    out: dict[str, dict] = {}
    for split in ("train", "val"):
        parts = []
        for gi, it in enumerate(items):
            if it.split != split:
                continue
            d = np.load(paths[it.rel])
            part = {k: d[k] for k in d.files}
            part["item"] = np.full(len(part["y"]), gi, np.int32)
            parts.append(part)
        if parts:
            keys = parts[0].keys()
            cat = {k: np.concatenate([p[k] for p in parts]) for k in keys}
            # make pair ids unique across items
            cat["pair"] = cat["pair"].astype(np.int64) + cat["item"].astype(np.int64) * 100000
            out[split] = cat
    return out

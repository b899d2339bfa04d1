"""The seeded challenge test set, built from any corpus folder with a ``MANIFEST.tsv``.

There is no real footage of a hand passing in front of a face or of a full profile turn, and no
generative weights: the set is *made* from real clips, real hands and a transplant that follows
the observable pipeline of real-time swappers (detection-methods.md §1.1, §10.1).

Sources (by manifest label): ``video_real`` = host clips (and donors of other identities);
``image_real_hand`` stills and ``video_real_hand`` clips without a face = hand sprites;
``video_real_hand`` clips with a face = real gesturing footage, scored as it is.

**Genuine hand wave.** A real hand, segmented from a still or a hand-video frame (GrabCut seeded
by the hand's landmarks, cut at the wrist, plus a plain forearm), is composited **in front of**
the host's face, colour-matched to the face's light, scaled to the face (palm length 0.95–1.3 IOD),
and moved across it following the prompt (first direction, number of passes) at 0.45–1.1 s per
pass, at the height of the eyes, the nose or the mouth, with motion blur (5 sub-frame positions
over a 30–60 % shutter). Non-compliant variants: no hand, or a hand waving beside the face.

**Genuine head turn.** The host's own turn (its most frontal frame to its most turned one,
contiguous frames) is played out and back (time-reversed), then mirrored for the other side, in
the order the prompt asks; frontal ping-pong fills the baseline and the gaps. The splice between
the original and the mirrored half is a cut (background flips); the scorer treats cuts as such.
Clips that never turn past the prompt's ``min_yaw_deg`` give non-compliant (frontal) windows.

**Swapped** = the same performance through a landmark-driven face transplant with swapper
paste-back behaviour:

* another identity's real face (a frontal frame of a donor clip) warped by Delaunay triangulation
  of the 468 mesh points onto the host's mesh, inside InsightFace's 128-px aligned crop (the
  generator bottleneck), optionally softened and Reinhard colour-matched to the host crop (RCT);
* pasted back through Deep-Live-Cam's fixed feathered ellipse (r = 0.44·128, σ = 12) or roop's
  eroded square, with **no occlusion mask**: a hand inside the mask is painted over;
* the face is re-detected only every N ∈ {2,…,5} frames; in between the stale transform is reused
  (the generated face follows the current face by a drawn fraction ``follow`` ∈ [0, 0.5] of the
  motion since the detection: how much inswapper reproduces an off-centre face is not known);
* at a detection frame where the hand covers more than 35–50 % of the face oval or |yaw| exceeds
  55–65°, the detector misses: the original frame (the impostor's real face) passes through
  until the next successful detection.

Every genuine/swapped pair is then re-encoded at call bitrates with PyAV (H.264 zerolatency and
VP8 realtime, 300 kbps and 1.5 Mbps, single-threaded, so the bytes are reproducible).

Everything is driven by ``numpy.random.default_rng([seed, case])``; derived data (landmarks of
the host clips, hand sprites) is cached under the output folder, never in the repository.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.challenges.protocol import HAND_WAVE, HEAD_TURN, LEFT, RIGHT, HandWavePrompt, HeadTurnPrompt
from interview_guard.core.errors import InputError

ENCODINGS: dict[str, tuple[str, int]] = {
    "h264_300k": ("h264", 300_000),
    "h264_1500k": ("h264", 1_500_000),
    "vp8_300k": ("vp8", 300_000),
    "vp8_1500k": ("vp8", 1_500_000),
}
QUICK_ENCODINGS = ("h264_300k", "vp8_1500k")
MAX_DIM = 960
BASELINE_S = 2.0
HAND_WINDOW_S = 6.0
FRONTAL_DEG = 12.0


# =============================================================================================
# corpus


@dataclass
class Sources:
    root: Path
    hosts: list[Path]
    hand_images: list[Path]
    hand_videos: list[Path]          # video_real_hand clips (sorted out by face presence later)
    swaps: list[Path]                # video_fake_faceswap (sanity check only)


def discover(corpus: Path) -> Sources:
    corpus = Path(corpus)
    manifest = corpus / "MANIFEST.tsv" if corpus.is_dir() else corpus
    if not manifest.is_file():
        raise InputError(f"no MANIFEST.tsv in {corpus}", hint="point --corpus at a corpus folder")
    root = manifest.parent
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    by: dict[str, list[Path]] = {}
    for r in rows:
        p = root / r["file"]
        if p.is_file():
            by.setdefault(r["label"], []).append(p)
    src = Sources(root, sorted(by.get("video_real", [])), sorted(by.get("image_real_hand", [])),
                  sorted(by.get("video_real_hand", [])), sorted(by.get("video_fake_faceswap", [])))
    if not src.hosts:
        raise InputError(f"{manifest} lists no video_real clips (host clips for the test set)")
    if not src.hand_images and not src.hand_videos:
        raise InputError(f"{manifest} lists no image_real_hand / video_real_hand files (real hands to composite)")
    return src


def identity_key(path: Path) -> str:
    """Clips of the same person share a key (e.g. the halves and takes of one DeepFaceLive demo)."""
    s = Path(path).stem
    m = re.match(r"^(dfl_.+?)_\d+_(real_left|swap_right)$", s)
    if m:
        return m.group(1)
    return s


# =============================================================================================
# video io


def even_size(w: int, h: int, max_dim: int = MAX_DIM) -> tuple[int, int]:
    s = min(1.0, max_dim / max(w, h))
    return max(16, int(w * s) // 2 * 2), max(16, int(h * s) // 2 * 2)


def read_frames(path: Path, *, max_dim: int = MAX_DIM, max_frames: int | None = None) -> tuple[list[np.ndarray], float]:
    import av

    frames = []
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        rate = vs.average_rate or vs.guessed_rate
        fps = float(rate) if rate else 30.0
        for fr in c.decode(vs):
            w, h = even_size(fr.width, fr.height, max_dim)
            frames.append(np.ascontiguousarray(fr.to_ndarray(format="rgb24", width=w, height=h)))
            if max_frames and len(frames) >= max_frames:
                break
    if not frames:
        raise InputError(f"no frame could be decoded from {path}")
    fps = fps if 5 <= fps <= 120 else 30.0
    return frames, fps


def codec_roundtrip(frames: list[np.ndarray], encoding: str, fps: float) -> list[np.ndarray]:
    from interview_guard.training.pseudo_fakes import codec_roundtrip as _rt

    codec, bitrate = ENCODINGS[encoding]
    return _rt(frames, codec, bitrate, fps=max(1, int(round(fps))))


# =============================================================================================
# landmarks of the host clips (cached)


class FaceTracker:
    """Face landmarks of whole clips (mediapipe, VIDEO mode), cached as .npz under ``cache``."""

    def __init__(self, cache: Path | None) -> None:
        self.cache = Path(cache) if cache else None

    def _key(self, path: Path, shape: tuple[int, int]) -> str:
        st = path.stat()
        h = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{int(st.st_mtime)}|{shape}|v1".encode()).hexdigest()[:12]
        return f"lm_{path.stem}_{h}.npz"

    def landmarks(self, path: Path, frames: list[np.ndarray], fps: float) -> tuple[np.ndarray, np.ndarray]:
        """(n, 478, 3) float32 px (NaN where no face) and (n,) yaw degrees (NaN)."""
        key = self._key(path, frames[0].shape[:2])
        if self.cache is not None:
            f = self.cache / key
            if f.is_file():
                d = np.load(f)
                return d["lm"], d["yaw"]
        from interview_guard.core.types import NS_PER_S, VideoFrame
        from interview_guard.perception.landmarks import PerceptionConfig, Perceiver

        n = len(frames)
        lm = np.full((n, 478, 3), np.nan, np.float32)
        yaw = np.full(n, np.nan, np.float32)
        with Perceiver(config=PerceptionConfig(max_faces=1, hands_every=0)) as p:
            for i, img in enumerate(frames):
                o = p.observe(VideoFrame(int(round(i / fps * NS_PER_S)), i, img))
                if o.face is not None:
                    lm[i] = o.face.landmarks
                    yaw[i] = o.face.pose.yaw
        if self.cache is not None:
            self.cache.mkdir(parents=True, exist_ok=True)
            tmp = self.cache / (key + ".tmp.npz")
            np.savez_compressed(tmp, lm=lm, yaw=yaw)
            tmp.replace(self.cache / key)
        return lm, yaw


@dataclass
class Clip:
    path: Path
    frames: list[np.ndarray]
    fps: float
    lm: np.ndarray
    yaw: np.ndarray

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def face_ok(self) -> np.ndarray:
        return np.isfinite(self.yaw)

    def iod(self) -> float:
        ok = self.face_ok
        if not ok.any():
            return 0.0
        d = np.linalg.norm(self.lm[ok, 33, :2] - self.lm[ok, 263, :2], axis=1)
        return float(np.median(d))


def dedupe(frames: list[np.ndarray]) -> np.ndarray:
    """Indices of the frames to keep: drops repeats (frame-rate conversion, a 15-fps source in a
    30-fps file). A repeat differs from its predecessor by much less than the clip's usual change."""
    if len(frames) < 3:
        return np.arange(len(frames))
    small = [cv2.cvtColor(cv2.resize(f, (f.shape[1] // 4, f.shape[0] // 4), interpolation=cv2.INTER_AREA),
                          cv2.COLOR_RGB2GRAY).astype(np.int16) for f in frames]
    d = np.array([np.abs(a - b).mean() for a, b in zip(small[:-1], small[1:])])
    thr = max(0.15, 0.2 * float(np.percentile(d, 75)))
    keep = [0] + [i + 1 for i, x in enumerate(d) if x >= thr]
    return np.array(keep)


def load_clip(path: Path, tracker: FaceTracker, *, max_frames: int | None = None) -> Clip:
    """A host/donor clip with its repeated frames dropped (fps scaled to match) and its landmarks."""
    frames, fps = read_frames(path, max_frames=max_frames)
    lm, yaw = tracker.landmarks(path, frames, fps)
    keep = dedupe(frames)
    if len(keep) < len(frames):
        fps = fps * len(keep) / len(frames)
        frames = [frames[i] for i in keep]
        lm, yaw = lm[keep], yaw[keep]
    return Clip(path, frames, fps, lm, yaw)


# =============================================================================================
# hand sprites


@dataclass
class Sprite:
    rgba: np.ndarray        # (h, w, 4) uint8
    lm: np.ndarray          # (21, 2) float32, sprite px
    source: str

    @property
    def palm(self) -> float:
        return geo.palm_length(self.lm)


def detect_hand(img: np.ndarray, landmarker, *, single: bool = False) -> np.ndarray | None:
    """The largest hand's landmarks (px); None without a hand, or with several when ``single``
    (a still showing two hands cannot give a clean one-hand sprite)."""
    import mediapipe as mp

    res = landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(img)))
    if not res.hand_landmarks or (single and len(res.hand_landmarks) > 1):
        return None
    h, w = img.shape[:2]
    best = max(res.hand_landmarks, key=lambda lms: (max(p.x for p in lms) - min(p.x for p in lms)) *
               (max(p.y for p in lms) - min(p.y for p in lms)))
    return np.array([(p.x * w, p.y * h) for p in best], np.float32)


def _image_landmarker():
    from mediapipe.tasks.python import BaseOptions, vision

    from interview_guard.core.native_logs import quiet_native_stderr
    from interview_guard.perception.model_store import ModelStore

    with quiet_native_stderr():
        return vision.HandLandmarker.create_from_options(vision.HandLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(ModelStore().path("hand_landmarker"))),
            running_mode=vision.RunningMode.IMAGE, num_hands=2, min_hand_detection_confidence=0.3))


def segment_hand(img: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
    """Alpha (h, w) float32 of the hand: GrabCut seeded by the landmarks, cut just past the wrist."""
    h, w = img.shape[:2]
    pl = geo.palm_length(lm)
    size = geo.hand_size(lm)
    x0, y0 = np.maximum(0, lm.min(0) - 0.35 * size).astype(int)
    x1, y1 = np.minimum([w, h], lm.max(0) + 0.35 * size).astype(int)
    if x1 - x0 < 20 or y1 - y0 < 20:
        return None
    mask = np.full((h, w), cv2.GC_BGD, np.uint8)
    mask[y0:y1, x0:x1] = cv2.GC_PR_BGD
    mask[geo.hand_hull_mask(lm, (h, w))] = cv2.GC_PR_FGD
    core = np.zeros((h, w), np.uint8)
    palm = cv2.convexHull(np.round(lm[list(geo.PALM)]).astype(np.int32))
    c = lm[list(geo.PALM)].mean(0)
    shrunk = (palm.reshape(-1, 2) - c) * 0.6 + c
    cv2.fillConvexPoly(core, np.round(shrunk).astype(np.int32), 1)
    th = max(1, int(round(0.07 * pl)))
    for chain in geo.FINGERS:
        for a, b in zip(chain[:-1], chain[1:]):
            cv2.line(core, tuple(int(v) for v in lm[a]), tuple(int(v) for v in lm[b]), 1, th)
    mask[core.astype(bool)] = cv2.GC_FGD
    bgd = np.zeros((1, 65), np.float64)
    fgd = np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(cv2.cvtColor(img, cv2.COLOR_RGB2BGR), mask, None, bgd, fgd, 6, cv2.GC_INIT_WITH_MASK)
    except cv2.error:
        return None
    fg = ((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD))
    # stay near this hand (not a second hand behind it) and on skin colours (not a sleeve)
    near = _dilated_hull(lm, (h, w), 0.12)
    ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb).astype(np.float64)
    seed = ycc[core.astype(bool)][:, 1:]
    mu = seed.mean(0)
    cov = np.cov(seed.T) + np.eye(2) * 4.0
    d = ycc[..., 1:] - mu
    maha = np.einsum("...i,ij,...j->...", d, np.linalg.inv(cov), d)
    fg = (fg & near & (maha < 3.5 ** 2)).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    n, lab = cv2.connectedComponents(fg)
    if n > 2:
        ids, counts = np.unique(lab[core.astype(bool) & fg.astype(bool)], return_counts=True)
        keep = ids[np.argmax(counts)] if ids.size else 1
        fg = (lab == keep).astype(np.uint8)
    # cut the forearm: keep up to 0.3 palm lengths beyond the wrist
    u = lm[9] - lm[0]
    u = u / (np.linalg.norm(u) or 1.0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (xx - lm[0, 0]) * u[0] + (yy - lm[0, 1]) * u[1]
    fade = np.clip((along + 0.3 * pl) / (0.15 * pl), 0, 1)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    alpha = cv2.GaussianBlur(fg.astype(np.float32), (0, 0), 0.8) * fade
    if alpha.sum() < 0.2 * geo.hand_shape_mask(lm, (h, w)).sum():
        return None
    return alpha.astype(np.float32)


def _dilated_hull(lm: np.ndarray, shape: tuple[int, int], k: float) -> np.ndarray:
    c = lm.mean(0)
    size = geo.hand_size(lm)
    d = lm - c
    nrm = np.linalg.norm(d, axis=1, keepdims=True)
    nrm[nrm == 0] = 1
    pts = lm + d / nrm * k * size
    m = np.zeros(shape, np.uint8)
    cv2.fillConvexPoly(m, cv2.convexHull(np.round(pts).astype(np.int32)), 1)
    return m.astype(bool)


def make_sprite(img: np.ndarray, lm: np.ndarray, alpha: np.ndarray, source: str) -> Sprite:
    ys, xs = np.nonzero(alpha > 0.02)
    pad = 4
    x0, y0 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    x1, y1 = min(img.shape[1], xs.max() + pad + 1), min(img.shape[0], ys.max() + pad + 1)
    rgba = np.dstack([img[y0:y1, x0:x1], np.clip(alpha[y0:y1, x0:x1] * 255 + 0.5, 0, 255).astype(np.uint8)])
    return Sprite(np.ascontiguousarray(rgba), (lm - np.array([x0, y0], np.float32)).astype(np.float32), source)


def build_sprites(src: Sources, cache: Path | None, *, max_video_frames: int = 6) -> tuple[list[Sprite], list[Path]]:
    """Hand sprites from the stills and the face-free hand videos. Returns (sprites, gesture
    clips), the latter being ``video_real_hand`` clips that show a face (scored as they are)."""
    cache_f = None
    key_src = "|".join(f"{p}:{p.stat().st_size}" for p in src.hand_images + src.hand_videos) + "|v4"
    if cache is not None:
        cache_f = Path(cache) / f"sprites_{hashlib.sha1(key_src.encode()).hexdigest()[:12]}.npz"
        if cache_f.is_file():
            d = np.load(cache_f, allow_pickle=False)
            meta = json.loads(str(d["meta"]))
            sprites = [Sprite(d[f"rgba{i}"], d[f"lm{i}"], s) for i, s in enumerate(meta["sources"])]
            return sprites, [Path(p) for p in meta["gesture"]]
    lmk = _image_landmarker()
    sprites: list[Sprite] = []
    gesture: list[Path] = []
    try:
        for p in src.hand_images:
            img = cv2.cvtColor(cv2.imread(str(p), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            lm = detect_hand(img, lmk, single=True)
            if lm is None:
                continue
            a = segment_hand(img, lm)
            if a is not None:
                sprites.append(make_sprite(img, lm, a, p.name))
        for p in src.hand_videos:
            frames, fps = read_frames(p, max_dim=960)
            if _has_face(frames):
                gesture.append(p)
                continue
            cands = []
            for i in range(0, len(frames), 3):
                lm = detect_hand(frames[i], lmk)
                if lm is None:
                    continue
                h, w = frames[i].shape[:2]
                inside = (lm[:, 0] > 2).all() and (lm[:, 0] < w - 3).all() and (lm[:, 1] > 2).all() and (lm[:, 1] < h - 3).all()
                if inside:
                    cands.append((geo.palm_length(lm), i, lm))
            cands.sort(key=lambda c: -c[0])
            chosen: list[tuple[float, int, np.ndarray]] = []
            for c in cands:                      # the biggest views, at least 10 frames apart
                if all(abs(c[1] - o[1]) >= 10 for o in chosen):
                    chosen.append(c)
                if len(chosen) >= max_video_frames:
                    break
            for _, i, lm in chosen:
                a = segment_hand(frames[i], lm)
                if a is not None:
                    sprites.append(make_sprite(frames[i], lm, a, f"{p.name}#{i}"))
    finally:
        lmk.close()
    if not sprites:
        raise InputError("no hand could be segmented from the corpus hand images/videos")
    if cache_f is not None:
        cache_f.parent.mkdir(parents=True, exist_ok=True)
        arrs = {}
        for i, s in enumerate(sprites):
            arrs[f"rgba{i}"] = s.rgba
            arrs[f"lm{i}"] = s.lm
        meta = json.dumps({"sources": [s.source for s in sprites], "gesture": [str(g) for g in gesture]})
        tmp = cache_f.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, meta=np.array(meta), **arrs)
        tmp.replace(cache_f)
    return sprites, gesture


def _has_face(frames: list[np.ndarray]) -> bool:
    from interview_guard.core.types import VideoFrame
    from interview_guard.perception.landmarks import PerceptionConfig, Perceiver

    idx = np.linspace(0, len(frames) - 1, min(8, len(frames))).astype(int)
    with Perceiver(config=PerceptionConfig(max_faces=1, hands_every=0)) as p:
        hits = sum(p.observe(VideoFrame(int(k * 1e8), int(k), frames[i])).face is not None for k, i in enumerate(idx))
    return hits >= len(idx) // 2


# =============================================================================================
# compositing a hand


@dataclass
class HandLook:
    sprite: Sprite
    flip: bool
    palm_px: float             # palm length on screen
    colour: np.ndarray         # (3,) Lab shift applied to the sprite
    blur: float
    forearm: bool = True


def _sprite_matrix(look: HandLook, centre: np.ndarray, angle_deg: float) -> np.ndarray:
    """2×3: sprite px → frame px, with the fingers pointing up rotated by ``angle_deg``, the
    palm centre at ``centre``."""
    s = look.sprite
    lm = s.lm.astype(np.float64).copy()
    w = s.rgba.shape[1]
    if look.flip:
        lm[:, 0] = w - 1 - lm[:, 0]
    pc = lm[list((0, 5, 9, 13, 17))].mean(0)
    up = lm[9] - lm[0]
    cur = math.degrees(math.atan2(up[1], up[0]))        # current direction of wrist→middle MCP
    want = -90.0 + angle_deg                            # up, tilted
    rot = math.radians(want - cur)
    k = look.palm_px / (np.linalg.norm(up) or 1.0)
    c, si = math.cos(rot) * k, math.sin(rot) * k
    a = np.array([[c, -si], [si, c]])
    flip = np.array([[-1.0, 0.0, w - 1.0], [0.0, 1.0, 0.0]]) if look.flip else np.array([[1.0, 0, 0], [0, 1.0, 0]])
    t = centre - a @ pc
    m = np.hstack([a, t[:, None]])
    return (np.vstack([m, [0, 0, 1]]) @ np.vstack([flip, [0, 0, 1]]))[:2]


def prepare_look(sprite: Sprite, face_rgb_mean_lab: np.ndarray, iod: float, rng: np.random.Generator) -> HandLook:
    lab = cv2.cvtColor(sprite.rgba[..., :3], cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float64)
    a = sprite.rgba[..., 3].reshape(-1) > 128
    hand = lab[a].mean(0) if a.any() else lab.mean(0)
    target = face_rgb_mean_lab.astype(np.float64).copy()
    target[0] *= rng.uniform(0.9, 1.12)
    shift = np.zeros(3)
    shift[0] = target[0] - hand[0]
    shift[1:] = 0.6 * (target[1:] - hand[1:]) + rng.normal(0, 1.5, 2)
    return HandLook(sprite, bool(rng.random() < 0.5), float(iod * rng.uniform(0.95, 1.3)), shift,
                    float(rng.uniform(0.3, 1.0)))


def _recolour(rgba: np.ndarray, shift: np.ndarray, blur: float) -> tuple[np.ndarray, np.ndarray]:
    lab = cv2.cvtColor(rgba[..., :3], cv2.COLOR_RGB2LAB).astype(np.float32)
    lab += shift.astype(np.float32)
    rgb = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB).astype(np.float32)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    if blur > 0.2:
        rgb = cv2.GaussianBlur(rgb, (0, 0), blur)
        alpha = cv2.GaussianBlur(alpha, (0, 0), blur)
    return rgb, alpha


def _forearm(look: HandLook, rgb: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A plain forearm (tapered, shaded) added below the sprite's wrist, in sprite space."""
    s = look.sprite
    lm = s.lm.astype(np.float64)
    pl = geo.palm_length(lm)
    u = lm[9] - lm[0]
    u /= np.linalg.norm(u) or 1.0
    n = np.array([-u[1], u[0]])
    length = 4.0 * pl
    w0, w1 = 0.42 * pl, 0.55 * pl
    wr = lm[0] + 0.1 * pl * u
    quad = np.array([wr + n * w0, wr - n * w0, wr - u * length - n * w1, wr - u * length + n * w1])
    pad = int(length + pl)
    h, w = alpha.shape
    big_rgb = np.zeros((h + 2 * pad, w + 2 * pad, 3), np.float32)
    big_a = np.zeros((h + 2 * pad, w + 2 * pad), np.float32)
    m = np.zeros(big_a.shape, np.uint8)
    cv2.fillConvexPoly(m, np.round(quad + pad).astype(np.int32), 1)
    near_wrist = alpha > 0.5
    col = np.median(rgb[near_wrist], axis=0) if near_wrist.any() else np.array([200, 160, 140], np.float32)
    yy, xx = np.mgrid[0:big_a.shape[0], 0:big_a.shape[1]].astype(np.float32)
    across = ((xx - pad - wr[0]) * n[0] + (yy - pad - wr[1]) * n[1]) / w1
    shade = (1.0 - 0.25 * np.clip(np.abs(across), 0, 1) ** 2)[..., None]
    arm = (col[None, None, :] * shade * 0.95).astype(np.float32)
    ma = cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0)
    big_rgb[:] = arm * ma[..., None]
    big_a[:] = ma
    # hand over the arm
    sl = (slice(pad, pad + h), slice(pad, pad + w))
    big_rgb[sl] = rgb * alpha[..., None] + big_rgb[sl] * (1 - alpha[..., None])
    big_a[sl] = alpha + big_a[sl] * (1 - alpha)
    # back to straight (non-premultiplied) colour
    with np.errstate(invalid="ignore", divide="ignore"):
        out_rgb = np.where(big_a[..., None] > 1e-4, big_rgb / np.maximum(big_a[..., None], 1e-4), 0)
    return out_rgb.astype(np.float32), big_a, pad


class HandRenderer:
    """Renders a (recoloured) sprite + forearm at a pose, with motion blur over sub-frame poses."""

    def __init__(self, look: HandLook) -> None:
        self.look = look
        rgb, a = _recolour(look.sprite.rgba, look.colour, look.blur)
        if look.forearm:
            self.rgb, self.alpha, self.pad = _forearm(look, rgb, a)
        else:
            self.rgb, self.alpha, self.pad = rgb, a, 0

    def matrix(self, centre: np.ndarray, angle: float) -> np.ndarray:
        m = _sprite_matrix(self.look, np.asarray(centre, np.float64), angle)
        if not self.pad:
            return m
        to_sprite = np.array([[1, 0, -self.pad], [0, 1, -self.pad], [0, 0, 1]], np.float64)   # canvas → sprite px
        return (np.vstack([m, [0, 0, 1]]) @ to_sprite)[:2]

    def landmarks(self, centre: np.ndarray, angle: float) -> np.ndarray:
        """The sprite's 21 hand landmarks at this pose, frame px."""
        m = _sprite_matrix(self.look, np.asarray(centre, np.float64), angle)
        return self.look.sprite.lm.astype(np.float64) @ m[:, :2].T + m[:, 2]

    def layer(self, shape: tuple[int, int], poses: list[tuple[np.ndarray, float]]) -> tuple[np.ndarray, np.ndarray, tuple]:
        """(premultiplied rgb, alpha, roi) of the hand averaged over ``poses`` (motion blur)."""
        h, w = shape
        ms = [self.matrix(c, a) for c, a in poses]
        sh, sw = self.alpha.shape
        corners = np.array([[0, 0], [sw, 0], [0, sh], [sw, sh]], np.float64)
        pts = np.vstack([corners @ m[:, :2].T + m[:, 2] for m in ms])
        x0, y0 = np.floor(pts.min(0)).astype(int) - 2
        x1, y1 = np.ceil(pts.max(0)).astype(int) + 2
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 <= x0 or y1 <= y0:
            return np.zeros((0, 0, 3), np.float32), np.zeros((0, 0), np.float32), (0, 0, 0, 0)
        acc_rgb = np.zeros((y1 - y0, x1 - x0, 3), np.float32)
        acc_a = np.zeros((y1 - y0, x1 - x0), np.float32)
        pre = self.rgb * self.alpha[..., None]
        for m in ms:
            mm = m.copy()
            mm[:, 2] -= [x0, y0]
            acc_rgb += cv2.warpAffine(pre, mm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=0)
            acc_a += cv2.warpAffine(self.alpha, mm, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderValue=0)
        k = 1.0 / len(ms)
        return acc_rgb * k, acc_a * k, (x0, y0, x1, y1)


def composite(frame: np.ndarray, pre_rgb: np.ndarray, alpha: np.ndarray, roi: tuple, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = roi
    if x1 <= x0:
        return frame
    out = frame.copy()
    bg = out[y0:y1, x0:x1].astype(np.float32)
    noise = rng.normal(0, 1.2, pre_rgb.shape).astype(np.float32) * alpha[..., None]
    res = pre_rgb + noise + bg * (1 - alpha[..., None])
    out[y0:y1, x0:x1] = np.clip(res + 0.5, 0, 255).astype(np.uint8)
    return out


def full_alpha(shape: tuple[int, int], alpha: np.ndarray, roi: tuple) -> np.ndarray:
    a = np.zeros(shape, np.float32)
    x0, y0, x1, y1 = roi
    if x1 > x0:
        a[y0:y1, x0:x1] = alpha
    return a


# =============================================================================================
# performances


@dataclass
class Performance:
    kind: str
    host: str
    fps: float
    frames: list[np.ndarray]
    lm: list[np.ndarray | None]          # host landmarks per frame (frame px; mirrored with the frame)
    yaw: np.ndarray
    occ: np.ndarray                      # hand alpha over the face oval, per frame
    window: tuple[float, float]          # seconds
    prompt: HandWavePrompt | HeadTurnPrompt | None
    compliant: bool
    meta: dict = field(default_factory=dict)
    source: list | None = None           # head turn: (unmirrored frame, its landmarks, mirrored?) per frame


def pingpong(start: int, n: int, valid: np.ndarray, rng: np.random.Generator, span: int | None = None) -> list[int]:
    """``n`` frame indices walking forward and back through valid frames from ``start``."""
    N = len(valid)
    lo, hi = start, start
    while lo - 1 >= 0 and valid[lo - 1] and (span is None or start - lo < span):
        lo -= 1
    while hi + 1 < N and valid[hi + 1] and (span is None or hi - start < span):
        hi += 1
    if hi == lo:
        return [start] * n
    out, i, d = [], start, 1 if rng.random() < 0.5 else -1
    for _ in range(n):
        out.append(i)
        if not (lo <= i + d <= hi):
            d = -d
        i += d
    return out


def _face_lab(clip: Clip, i: int) -> np.ndarray:
    lm = clip.lm[i]
    img = clip.frames[i]
    pts = lm[[50, 280, 151], :2]
    iod = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    r = max(2, int(0.15 * iod))
    vals = []
    for x, y in pts:
        x, y = int(x), int(y)
        patch = img[max(0, y - r):y + r, max(0, x - r):x + r]
        if patch.size:
            vals.append(cv2.cvtColor(patch, cv2.COLOR_RGB2LAB).reshape(-1, 3).mean(0))
    return np.mean(vals, axis=0) if vals else np.array([160.0, 140.0, 140.0])


def _ease(u: float) -> float:
    u = min(1.0, max(0.0, u))
    return 0.5 - 0.5 * math.cos(math.pi * u)


def hand_wave_performance(clip: Clip, sprites: list[Sprite], prompt: HandWavePrompt, rng: np.random.Generator,
                          *, mode: str = "comply") -> Performance | None:
    """``mode``: "comply" (passes across the face per the prompt), "beside" (a wave next to the
    face that never crosses it) or "no_hand"."""
    fps = clip.fps
    n = int(round((BASELINE_S + HAND_WINDOW_S) * fps))
    ok = clip.face_ok
    if ok.sum() < 0.8 * min(n, len(ok)):
        return None
    starts = np.nonzero(ok)[0]
    s0 = int(rng.choice(starts[: max(1, len(starts) - n)])) if len(starts) > n else int(starts[0])
    idx = []
    i = s0
    while len(idx) < n:                                    # play on; ping-pong at the end of the clip
        idx.extend(pingpong(i, n - len(idx), ok, rng) if i >= len(ok) - 1 or not ok[i] else [i])
        i += 1
        if i >= len(ok) or not ok[i]:
            rest = n - len(idx)
            if rest > 0:
                idx.extend(pingpong(idx[-1], rest, ok, rng))
            break
    idx = idx[:n]
    frames = [clip.frames[k] for k in idx]
    lms = [clip.lm[k] for k in idx]
    yaw = clip.yaw[idx].astype(np.float64)
    shape = frames[0].shape[:2]
    occ = np.zeros(n)
    win = (BASELINE_S, BASELINE_S + HAND_WINDOW_S)
    meta = {"host_start": s0, "mode": mode}
    if mode == "no_hand":
        return Performance(HAND_WAVE, clip.name, fps, frames, lms, yaw, occ, win, prompt, False, meta)

    ref = int(BASELINE_S * fps)
    lm0 = lms[ref]
    nose = lm0[1, :2].astype(np.float64)
    fw = float(np.linalg.norm(lm0[234, :2] - lm0[454, :2]))
    iod = float(np.linalg.norm(lm0[33, :2] - lm0[263, :2]))
    sprite = sprites[int(rng.integers(len(sprites)))]
    look = prepare_look(sprite, _face_lab(clip, idx[ref]), iod, rng)
    rend = HandRenderer(look)
    pl = look.palm_px
    hand_w = 0.9 * pl
    eye_y = float(lm0[[33, 263], 1].mean())
    mouth_y = float(lm0[[61, 291], 1].mean())
    height = rng.choice(["eyes", "nose", "mouth"], p=[0.45, 0.3, 0.25])
    # the palm centre sits ≈ 0.5 palm lengths below the knuckles; fingers reach ≈ 0.9 above them
    base_y = {"eyes": eye_y + 0.45 * pl, "nose": float(lm0[1, 1]) + 0.1 * pl, "mouth": mouth_y}[str(height)]
    base_y += rng.normal(0, 0.08 * pl)
    tilt0 = float(rng.uniform(-25, 25))
    meta.update(sprite=sprite.source, height=str(height), palm_px=round(pl, 1), flip=look.flip)

    # key poses over time (seconds), as (t, x, y, angle)
    keys: list[tuple[float, float, float, float]] = []
    t = win[0] + float(rng.uniform(0.4, 1.4))
    below = shape[0] + 1.2 * pl
    if mode == "comply":
        d = prompt.image_dx_sign
        x_far = 0.5 * fw + 0.75 * hand_w
        side_x = lambda sgn: nose[0] + sgn * x_far          # noqa: E731
        start_sgn = -d
        keys.append((t - 0.6, side_x(start_sgn) + start_sgn * 0.3 * fw, below, tilt0))
        keys.append((t, side_x(start_sgn), base_y, tilt0))
        cur = start_sgn
        for k in range(prompt.passes):
            dur = float(rng.uniform(0.45, 1.1))
            # an arc: slightly higher in the middle
            mid_t = t + dur / 2
            keys.append((mid_t, nose[0] + rng.normal(0, 0.05 * fw), base_y - rng.uniform(0, 0.12) * pl,
                         tilt0 + rng.uniform(-8, 8)))
            t += dur
            cur = -cur
            keys.append((t, side_x(cur), base_y + rng.normal(0, 0.05 * pl), tilt0 + rng.uniform(-5, 5)))
            t += float(rng.uniform(0.15, 0.45))
            keys.append((t, side_x(cur) + rng.normal(0, 0.05 * fw), base_y, tilt0))
        keys.append((t + 0.6, side_x(cur) + cur * 0.3 * fw, below, tilt0))
        compliant = True
    else:  # "beside": a hello-wave next to the face, never crossing it
        sgn = 1 if rng.random() < 0.5 else -1
        x = nose[0] + sgn * (0.5 * fw + 0.95 * hand_w)
        keys.append((t - 0.6, x, below, tilt0))
        keys.append((t, x, base_y, tilt0))
        for k in range(int(rng.integers(3, 6))):
            t += float(rng.uniform(0.25, 0.4))
            keys.append((t, x + sgn * rng.uniform(0, 0.15) * fw, base_y, tilt0 + (20 if k % 2 else -20)))
        keys.append((t + 0.6, x, below, tilt0))
        compliant = False
    meta["keys"] = [[round(v, 2) for v in k] for k in keys]

    def pose_at(tt: float) -> tuple[np.ndarray, float] | None:
        if tt < keys[0][0] or tt > keys[-1][0]:
            return None
        for a, b in zip(keys[:-1], keys[1:]):
            if a[0] <= tt <= b[0]:
                u = _ease((tt - a[0]) / max(1e-6, b[0] - a[0]))
                return (np.array([a[1] + (b[1] - a[1]) * u, a[2] + (b[2] - a[2]) * u]), a[3] + (b[3] - a[3]) * u)
        return None

    shutter = float(rng.uniform(0.3, 0.6)) / fps
    oval_cache = {}
    out_frames = []
    for f in range(n):
        tt = f / fps
        poses = [p for p in (pose_at(tt - shutter / 2 + shutter * j / 4) for j in range(5)) if p is not None]
        if not poses:
            out_frames.append(frames[f])
            continue
        pre, a, roi = rend.layer(shape, poses)
        out_frames.append(composite(frames[f], pre, a, roi, rng))
        lm = lms[f]
        key = idx[f]
        if key not in oval_cache:
            oval_cache[key] = geo.poly_mask(lm[list(geo.FACE_OVAL), :2], shape)
        oval = oval_cache[key]
        fa = full_alpha(shape, a, roi)
        occ[f] = float(fa[oval].mean()) if oval.any() else 0.0
    meta["max_occlusion"] = round(float(occ.max()), 3)
    return Performance(HAND_WAVE, clip.name, fps, out_frames, lms, yaw, occ, win, prompt, compliant, meta)


def head_turn_performance(clip: Clip, prompt: HeadTurnPrompt, rng: np.random.Generator) -> Performance | None:
    fps = clip.fps
    ok = clip.face_ok
    if ok.sum() < 10:
        return None
    yaw = clip.yaw.astype(np.float64)
    ay = np.where(ok, np.abs(yaw), -1)
    p = int(np.argmax(ay))
    frontal = np.nonzero(ok & (np.abs(np.nan_to_num(yaw, nan=99)) <= FRONTAL_DEG))[0]
    base_n = int(round(BASELINE_S * fps))
    W = clip.frames[0].shape[1]
    meta: dict = {"peak_yaw": round(float(yaw[p]), 1)}

    def mirror_lm(lm: np.ndarray) -> np.ndarray:
        out = lm.copy()
        out[:, 0] = W - 1 - out[:, 0]
        return out

    if abs(yaw[p]) < prompt.min_yaw_deg or frontal.size == 0:
        # non-compliant: the clip as it is (the face stays near frontal or never turns enough)
        start = int(np.nonzero(ok)[0][0])
        need = base_n + int(6 * fps)
        idx = [k for k in range(start, min(len(ok), start + need)) if ok[k]]
        if len(idx) < need:
            idx += pingpong(idx[-1], need - len(idx), ok, rng)
        seq = [(k, False) for k in idx]
        compliant = False
    else:
        f = int(frontal[np.argmin(np.abs(frontal - p))])
        step = 1 if p > f else -1
        path = list(range(f, p + step, step))
        if not ok[path].all():
            return None
        hold = pingpong(p, int(rng.uniform(0.3, 0.8) * fps), ok, rng, span=2)
        turn = path + hold + path[::-1]
        orig_side = LEFT if yaw[p] > 0 else RIGHT        # unmirrored stream: yaw > 0 = candidate's left
        orig_first = orig_side == prompt.first
        half_a = [(k, not orig_first) for k in turn]     # first half: mirrored unless the clip turns the asked way
        half_b = [(k, orig_first) for k in turn]

        def still(seconds: float, mirrored: bool, span: int) -> list[tuple[int, bool]]:
            return [(k, mirrored) for k in pingpong(f, max(1, int(seconds * fps)), ok, rng, span=span)]

        seq = (still(BASELINE_S + rng.uniform(0.3, 1.0), not orig_first, 4) + half_a
               + still(rng.uniform(0.3, 0.6), orig_first, 3) + half_b + still(0.5, orig_first, 3))
        compliant = True
        meta.update(frontal_frame=f, peak_frame=p, turn_frames=len(path), original_first=orig_first)
    frames, lms, yaws = [], [], []
    for k, mir in seq:
        img = clip.frames[k]
        frames.append(np.ascontiguousarray(img[:, ::-1]) if mir else img)
        lms.append(mirror_lm(clip.lm[k]) if mir else clip.lm[k])
        yaws.append(-yaw[k] if mir else yaw[k])
    n = len(frames)
    win = (BASELINE_S, n / fps)
    perf = Performance(HEAD_TURN, clip.name, fps, frames, lms, np.array(yaws), np.zeros(n), win, prompt,
                       compliant, meta)
    # the swap is simulated on the unmirrored frames (a mirrored mesh keeps its left/right indices,
    # which a transplant must not see) and its output mirrored where the performance is
    perf.source = [(clip.frames[k], clip.lm[k], mir) for k, mir in seq]
    return perf


# =============================================================================================
# the swap


_INSIGHT_128 = (geo.fg._ARCFACE_112 + np.array([8.0, 0.0], np.float32)).astype(np.float64)
# A ~170-point subset of the mesh is enough for a transplant (features, oval, cheeks) and keeps the
# piecewise warp at a few hundred triangles.
_LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
_NOSE = (1, 2, 4, 5, 6, 19, 94, 98, 327, 168, 197, 195, 48, 278, 115, 344, 129, 358, 64, 294)
_CHEEKS = (50, 280, 205, 425, 187, 411, 123, 352, 116, 345, 147, 376, 213, 433, 58, 288, 136, 365, 101, 330,
           36, 266, 206, 426, 216, 436)
_FOREHEAD = (151, 9, 8, 108, 337, 67, 297, 69, 299, 104, 333)
MESH_SUBSET = np.array(sorted(set(geo.FACE_OVAL) | set(geo.EYE_A) | set(geo.EYE_B) | set(geo.BROW_A)
                              | set(geo.BROW_B) | set(geo.LIPS_OUTER) | set(_LIPS_INNER) | set(_NOSE)
                              | set(_CHEEKS) | set(_FOREHEAD)), np.int64)
_BORDER = np.array([[0, 0], [64, 0], [127, 0], [127, 64], [127, 127], [64, 127], [0, 127], [0, 64]], np.float64)


def insight_matrix(lm: np.ndarray) -> np.ndarray:
    return geo.similarity(geo.fg.five_points(lm), _INSIGHT_128)


@dataclass
class Donor:
    name: str
    crop: np.ndarray          # (128, 128, 3) uint8: the donor's face in the InsightFace crop
    pts: np.ndarray           # (len(MESH_SUBSET) + 8, 2): mesh points + 8 border points, crop px
    tris: np.ndarray          # (T, 3) int


def make_donor(clip: Clip, rng: np.random.Generator) -> Donor | None:
    ok = clip.face_ok & (np.abs(np.nan_to_num(clip.yaw, nan=99)) <= 10)
    cand = np.nonzero(ok)[0]
    if cand.size == 0:
        return None
    i = int(rng.choice(cand))
    lm = clip.lm[i]
    m = insight_matrix(lm)
    crop = cv2.warpAffine(clip.frames[i], m, (128, 128), flags=cv2.INTER_AREA if geo.iod(lm) > 40 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    pts = np.vstack([geo.apply(m, lm[MESH_SUBSET]), _BORDER])
    tris = _delaunay(pts)
    return Donor(clip.name, crop, pts, tris)


def _delaunay(pts: np.ndarray) -> np.ndarray:
    sub = cv2.Subdiv2D((-200, -200, 528, 528))
    lookup = {}
    for k, (x, y) in enumerate(pts):
        x, y = float(np.clip(x, -199, 527)), float(np.clip(y, -199, 527))
        sub.insert((x, y))
        lookup[(round(x, 3), round(y, 3))] = k
    tris = []
    for t in sub.getTriangleList():
        ids = []
        for j in range(3):
            key = (round(float(t[2 * j]), 3), round(float(t[2 * j + 1]), 3))
            if key not in lookup:
                break
            ids.append(lookup[key])
        if len(ids) == 3:
            tris.append(ids)
    return np.array(tris, np.int32)


def piecewise_warp(src: np.ndarray, src_pts: np.ndarray, dst_pts: np.ndarray, tris: np.ndarray, size: int = 128) -> np.ndarray:
    """Warp ``src`` so that triangles of ``src_pts`` land on ``dst_pts`` (a size×size output)."""
    idx = np.full((size, size), -1, np.int32)
    d = np.round(dst_pts * 16).astype(np.int32)
    for k, (a, b, c) in enumerate(tris):
        cv2.fillConvexPoly(idx, d[[a, b, c]], int(k), lineType=cv2.LINE_8, shift=4)
    D = np.concatenate([dst_pts[tris], np.ones((len(tris), 3, 1))], axis=2)      # (T, 3, 3)
    det = np.linalg.det(D)
    D[np.abs(det) < 1e-6] += np.eye(3) * 1e-3                                    # degenerate (folded) triangles
    A = (np.linalg.inv(D) @ src_pts[tris]).astype(np.float32)                    # (T, 3, 2): [x y 1] → src
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    sel = np.clip(idx, 0, None)
    a = A[sel]                                                                   # (size, size, 3, 2)
    mx = xs * a[..., 0, 0] + ys * a[..., 1, 0] + a[..., 2, 0]
    my = xs * a[..., 0, 1] + ys * a[..., 1, 1] + a[..., 2, 1]
    mx = np.where(idx >= 0, mx, xs)
    my = np.where(idx >= 0, my, ys)
    return cv2.remap(src, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def mask_ellipse(m: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Deep-Live-Cam's paste-back mask: a circle r = 0.44·128 blurred (31×31, σ = 12) in aligned
    space, warped back bilinearly; zero outside the crop."""
    a = np.zeros((128, 128), np.float32)
    cv2.circle(a, (64, 64), int(0.44 * 128), 1.0, -1, lineType=cv2.LINE_AA)
    a = cv2.GaussianBlur(a, (31, 31), 12)
    inv = cv2.invertAffineTransform(m)
    return cv2.warpAffine(a, inv, (shape[1], shape[0]), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=0.0)


@dataclass
class SwapRecipe:
    det_interval: int
    follow: float
    occ_thr: float
    yaw_thr: float
    rct: bool
    smooth: float
    mask: str

    def to_json(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def sample_recipe(rng: np.random.Generator) -> SwapRecipe:
    return SwapRecipe(det_interval=int(rng.integers(2, 6)), follow=float(rng.uniform(0.0, 0.5)),
                      occ_thr=float(rng.uniform(0.35, 0.5)), yaw_thr=float(rng.uniform(55, 65)),
                      rct=bool(rng.random() < 0.7), smooth=float(rng.uniform(0.0, 0.9)),
                      mask="dlc_ellipse" if rng.random() < 0.8 else "insight_square")


def swap_performance(perf: Performance, donor: Donor, recipe: SwapRecipe) -> tuple[list[np.ndarray], dict]:
    from interview_guard.training.pseudo_fakes import mask_insight_square, rct, warp_back

    shape = perf.frames[0].shape[:2]
    wcent = np.zeros((128, 128), np.float32)
    cv2.circle(wcent, (64, 64), 40, 1.0, -1)
    out = []
    cached: np.ndarray | None = None
    swapped = fallback = 0
    states = []
    mask_cache: dict[bytes, np.ndarray] = {}
    src = perf.source or [(img, lm, False) for img, lm in zip(perf.frames, perf.lm)]
    flips = [mir for _, _, mir in src]

    def emit(frame: np.ndarray, f: int) -> None:
        out.append(np.ascontiguousarray(frame[:, ::-1]) if flips[f] else frame)

    for f, (img, lm, _) in enumerate(src):
        have = lm is not None and np.isfinite(lm).all()
        if f % recipe.det_interval == 0:
            visible = have and perf.occ[f] < recipe.occ_thr and abs(float(perf.yaw[f])) < recipe.yaw_thr
            cached = lm.copy() if visible else None
        if cached is None or not have:
            emit(img, f)
            fallback += 1
            states.append("F")
            continue
        states.append("S")
        m = insight_matrix(cached)
        geom = cached[MESH_SUBSET, :2] + recipe.follow * (lm[MESH_SUBSET, :2] - cached[MESH_SUBSET, :2])
        dst = np.vstack([geo.apply(m, geom), _BORDER])
        gen = piecewise_warp(donor.crop, donor.pts, dst, donor.tris)
        if recipe.smooth > 0.15:
            gen = cv2.GaussianBlur(gen, (0, 0), recipe.smooth)
        if recipe.rct:
            tgt = cv2.warpAffine(img, m, (128, 128), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            gen = rct(gen, tgt, wcent)
        key = np.round(m, 3).tobytes()
        alpha = mask_cache.get(key)
        if alpha is None:
            alpha = mask_ellipse(m, shape) if recipe.mask == "dlc_ellipse" else mask_insight_square(m, shape)
            mask_cache = {key: alpha}
        pasted = warp_back(gen, m, shape)
        o = pasted.astype(np.float32) * alpha[..., None] + img.astype(np.float32) * (1 - alpha[..., None])
        emit(np.clip(o + 0.5, 0, 255).astype(np.uint8), f)
        swapped += 1
    return out, {"swapped_frames": swapped, "fallback_frames": fallback, **recipe.to_json(), "donor": donor.name,
                 "states": "".join(states)}


# =============================================================================================
# the case list


@dataclass
class CaseSpec:
    case_id: str
    kind: str
    host: Path
    mode: str                 # hand wave: comply / beside / no_hand; head turn: turn
    seed: int


def plan_cases(src: Sources, tracker: FaceTracker, *, seed: int, kinds=(HAND_WAVE, HEAD_TURN),
               limit: int = 0, noncompliant_every: int = 4, turn_repeats: int = 3,
               min_yaw: float = 25.0) -> list[CaseSpec]:
    """The case list.

    * Hand wave: one case per host clip (a seeded sample of ``limit`` clips); every
      ``noncompliant_every``-th one is non-compliant (alternately no hand / a hand beside the face).
    * Head turn: every host clip that turns past ``min_yaw`` from a frontal frame gives
      ``turn_repeats`` cases (different prompts, donors, swap recipes): the corpus has few turns;
      the other sampled clips give one (non-compliant) case each.
    """
    rng = np.random.default_rng(seed)
    hosts = list(src.hosts)
    rng.shuffle(hosts)
    sample = hosts[:limit] if limit else hosts
    cases = []
    if HAND_WAVE in kinds:
        for k, h in enumerate(sample):
            mode = "comply"
            if noncompliant_every and k % noncompliant_every == noncompliant_every - 1:
                mode = "no_hand" if (k // noncompliant_every) % 2 == 0 else "beside"
            cases.append(CaseSpec(f"hw-{h.stem}", HAND_WAVE, h, mode, int(rng.integers(2**31))))
    if HEAD_TURN in kinds:
        turning = [h for h in hosts if _turns(h, tracker, min_yaw)]
        if limit:
            turning = turning[:max(1, limit // 2)]
        for h in turning:
            for r in range(turn_repeats):
                cases.append(CaseSpec(f"ht-{h.stem}-{r}", HEAD_TURN, h, "turn", int(rng.integers(2**31))))
        for h in sample:
            if h not in turning:
                cases.append(CaseSpec(f"ht-{h.stem}", HEAD_TURN, h, "turn", int(rng.integers(2**31))))
    return cases


def _turns(path: Path, tracker: FaceTracker, min_yaw: float) -> bool:
    """The clip has a frontal frame (|yaw| ≤ 12°) and turns past ``min_yaw`` + 1°."""
    try:
        clip = load_clip(path, tracker)
    except Exception:  # noqa: BLE001 - an unreadable clip is simply not a turning one
        return False
    y = clip.yaw[np.isfinite(clip.yaw)]
    return bool(y.size and np.abs(y).min() <= FRONTAL_DEG and np.abs(y).max() >= min_yaw + 1.0)


def pick_donor(host: Path, src: Sources, rng: np.random.Generator) -> list[Path]:
    """Clips of other identities, in a seeded random order (the first with a frontal face is used)."""
    me = identity_key(host)
    others = [p for p in src.hosts if identity_key(p) != me]
    order = rng.permutation(len(others))
    return [others[i] for i in order]

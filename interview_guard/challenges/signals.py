"""Temporal measurements shared by the two challenges.

* ``cuts``: frame pairs whose *background* (the thumbnail outside the face and hands) changed
  a lot (a splice, a layout switch, a keyframe pulse) or that repeat the previous frame exactly
  (a freeze): temporal differences are not taken across them.
* ``stair_step``: how much the inner face moves in steps rather than smoothly. A swap whose
  paste-back transform is refreshed only every N frames (Deep-Live-Cam re-detects every
  ``round(fps·0.08)`` frames) moves the pasted face in a staircase while the real head moves
  smoothly (detection-methods.md S4/S8). Ratio R = Σ|a_t| / Σ|u_t| over frames where the head
  moves, with a_t the second difference of the inner-landmark centroid and u_t its velocity over
  ±2 frames. Smooth motion gives R ≪ 1; a period-N staircase gives R ≈ 2 whatever N.
  Near-repeated frames (frame-rate conversion, re-encoded so the copies are not exact) are
  dropped first: they make genuine motion stepped too (the real halves of the DeepFaceLive demos
  in the corpus went from 1.7–1.8 to ≈ 0.7 with them dropped).
* ``flash_runs``: short runs where the visible face's appearance departs from its usual level
  and then returns (A→B→A: the swap dropping out and the real face showing, S1).
"""

from __future__ import annotations

import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.challenges.record import THUMB, FrameRec

CUT_BG_DIFF = 14.0        # mean |Δ grey| of the background thumbnail: a splice or a layout change
FREEZE_DIFF = 0.05        # the perceiver's frame_diff of an exact/near repeat
STEP_MIN_SPEED = 0.012    # IOD per frame: below this the centroid's noise dominates
STEP_MIN_FRAMES = 8
TRACK_JUMP_IOD = 1.0      # IOD per frame: a centroid jump this large is the tracker switching faces, not motion


def bg_mask(rec: FrameRec, other: FrameRec | None = None) -> np.ndarray:
    """Thumbnail cells outside the face (bbox × 1.5) and hands of ``rec`` (and ``other``)."""
    tw, th = THUMB
    w, h = rec.frame_wh
    sx, sy = tw / max(1, w), th / max(1, h)
    keep = np.ones((th, tw), bool)
    for r in (rec, other):
        if r is None:
            continue
        boxes = []
        if r.face is not None:
            boxes.append((r.face.min(0), r.face.max(0), 1.5))
        for hd in r.hands:
            boxes.append((hd.min(0), hd.max(0), 1.3))
        for (x0, y0), (x1, y1), k in boxes:
            cx, cy, hw, hh = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) * k / 2, (y1 - y0) * k / 2
            a0, a1 = int(max(0, np.floor((cx - hw) * sx))), int(min(tw, np.ceil((cx + hw) * sx)))
            b0, b1 = int(max(0, np.floor((cy - hh) * sy))), int(min(th, np.ceil((cy + hh) * sy)))
            keep[b0:b1, a0:a1] = False
    return keep


def bg_diff(a: FrameRec, b: FrameRec) -> float:
    keep = bg_mask(a, b)
    if keep.sum() < 20:
        return float("nan")
    d = np.abs(a.thumb.astype(np.int16) - b.thumb.astype(np.int16))
    return float(d[keep].mean())


def cuts(recs: list[FrameRec]) -> np.ndarray:
    """(n,) bool: True where frame i must not be differenced with frame i−1."""
    out = np.zeros(len(recs), bool)
    if recs:
        out[0] = True
    for i in range(1, len(recs)):
        a, b = recs[i - 1], recs[i]
        if 0 <= b.frame_diff < FREEZE_DIFF:
            out[i] = True
            continue
        d = bg_diff(b, a)
        if np.isfinite(d) and d > CUT_BG_DIFF:
            out[i] = True
    return out


def centroids(recs: list[FrameRec], idx=geo.INNER_POINTS) -> np.ndarray:
    c = np.full((len(recs), 2), np.nan)
    for i, r in enumerate(recs):
        if r.face is not None:
            c[i] = r.face[list(idx)].mean(0)
    return c


def stair_step(recs: list[FrameRec], iod: float, cut: np.ndarray | None = None,
               exclude: np.ndarray | None = None) -> dict:
    """Staircase ratio of the inner-face centroid over the frames where the head moves.
    ``exclude``: frames not to use (e.g. a hand over the face makes the mesh jump)."""
    cut = cuts(recs) if cut is None else cut
    if exclude is not None:
        cut = cut | exclude
    # near-repeats of the previous frame (frame-rate conversion: a 15-fps camera in a 30-fps stream,
    # re-encoded so the copies are not exact) make any motion look stepped: drop them, as if the
    # stream had the source's frame rate (a stale swap still moves the rest of the picture)
    keep = ~near_repeats(recs)
    keep[0] = True
    idx = np.nonzero(keep)[0]
    cut2 = np.zeros(len(idx), bool)
    for k, i in enumerate(idx):
        j = idx[k - 1] if k else -1
        cut2[k] = bool(cut[j + 1:i + 1].any()) if k else True
    recs = [recs[i] for i in idx]
    cut = cut2
    n = len(recs)
    c = centroids(recs) / max(iod, 1.0)
    # a head cannot move an eye-distance in one frame: such a jump is the face tracker switching to
    # another face (or a glitch) and breaks the motion there like a cut (a stale swap's catch-up
    # jump is a fraction of an IOD)
    jump = np.zeros(n, bool)
    if n > 1:
        with np.errstate(invalid="ignore"):
            jump[1:] = np.linalg.norm(np.diff(c, axis=0), axis=1) > TRACK_JUMP_IOD
    cut = cut | jump
    a_sum = u_sum = 0.0
    moving = 0
    speeds = []
    for t in range(2, n - 2):
        seg = c[t - 2:t + 3]
        if not np.isfinite(seg).all() or cut[t - 1:t + 3].any():
            continue
        u = np.linalg.norm(seg[4] - seg[0]) / 4.0
        speeds.append(u)
        if u < STEP_MIN_SPEED:
            continue
        v1, v2 = seg[2] - seg[1], seg[1] - seg[0]
        if float(v1 @ v2) < 0 and min(np.linalg.norm(v1), np.linalg.norm(v2)) > 0.5 * u:
            continue          # the head reversed its motion here: a real acceleration, not a step
        a = np.linalg.norm(seg[2] - 2 * seg[1] + seg[0])
        a_sum += a
        u_sum += u
        moving += 1
    ratio = a_sum / u_sum if (moving >= STEP_MIN_FRAMES and u_sum > 0) else float("nan")
    return {"moving_frames": moving, "ratio": ratio,
            "speed_p90": float(np.percentile(speeds, 90)) if speeds else 0.0}


REPEAT_FRAC = 0.2         # a frame changed less than this × the usual change (75th pct) repeats its predecessor
REPEAT_MIN = 0.15         # ... or less than this (mean |Δ grey| of the perceiver's 64×36 thumbnail)


def near_repeats(recs: list[FrameRec]) -> np.ndarray:
    """(n,) bool: the frame is a (near-)copy of the previous one (the rule the test-set builder uses
    to drop repeated frames from its host clips)."""
    fd = np.array([r.frame_diff for r in recs], np.float64)
    ok = fd >= 0
    if ok.sum() < 3:
        return np.zeros(len(recs), bool)
    thr = max(REPEAT_MIN, REPEAT_FRAC * float(np.percentile(fd[ok], 75)))
    return ok & (fd < thr)


def robust_z(x: np.ndarray, ref: np.ndarray, floor: float) -> np.ndarray:
    ref = ref[np.isfinite(ref)]
    if ref.size < 3:
        return np.full_like(x, np.nan, dtype=np.float64)
    med = float(np.median(ref))
    mad = float(np.median(np.abs(ref - med))) * 1.4826
    return (x - med) / max(mad, floor)


def flash_runs(score: np.ndarray, *, hi: float, lo: float, max_len: int, cut: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Runs [i, j) of ``score`` > ``hi`` lasting ≤ ``max_len`` frames, with a frame ≤ ``lo`` just
    before and just after (NaNs are skipped, cuts break a run)."""
    runs = []
    n = len(score)
    i = 0
    last_low = -1
    while i < n:
        s = score[i]
        if not np.isfinite(s):
            i += 1
            continue
        if cut is not None and cut[i]:
            last_low = -1
        if s <= lo:
            last_low = i
            i += 1
            continue
        if s > hi and last_low >= 0:
            j = i
            while j < n and (not np.isfinite(score[j]) or score[j] > lo) and (cut is None or not cut[j] or j == i):
                j += 1
            if j < n and np.isfinite(score[j]) and score[j] <= lo and (j - i) <= max_len:
                runs.append((i, j))
            i = j
            continue
        i += 1
    return runs


JUMP_MIN = 0.30           # 1 − NCC between consecutive visible faces for a jump (another face)
JUMP_Z = 6.0
RETURN_MAX = 0.05         # 1 − NCC between the frames before and after: the same face again
STILL_SHIFT = 0.30        # IOD of inner-face centroid motion between two frames: more is head motion
# (no yaw condition: under a hand the pose estimate wobbles by 10° from frame to frame)
MAX_SKIP = 3              # frames without a face (or a usable view) skipped between two compared frames


def appearance_flashes(recs: list[FrameRec], grays: list, masks: list, cut: np.ndarray, max_len: int,
                       *, min_area: int = 300) -> tuple[list[tuple[int, int]], dict]:
    """A→B→A on the visible face: an abrupt change to another-looking face (not explained by head
    motion), then an abrupt change back to what was there before, within ``max_len`` frames.

    ``grays``: per frame (96, 96) aligned grey face or None; ``masks``: per frame bool mask of the
    visible face (outside hands, the forearm and the mouth) or None. Consecutive usable frames
    (up to ``MAX_SKIP`` faceless frames apart) are compared by NCC over the pixels visible in both.
    A jump is 1 − NCC ≥ ``JUMP_MIN`` (and ``JUMP_Z`` robust SDs above the window's own changes);
    the return needs 1 − NCC(before, after) ≤ ``RETURN_MAX``. On the development set (seed 1),
    genuine hand passes gave "runs" whose face afterwards differed from the face before by 0.07–0.4
    (the hand's edges, expressions); a swap dropping out changed by 0.3–0.9 and came back to within
    0.03.
    """
    from interview_guard.challenges.geometry import ncc

    n = len(recs)
    valid = [i for i in range(n) if grays[i] is not None and masks[i] is not None]
    c = centroids(recs)
    d: dict[int, float] = {}
    prev: dict[int, int] = {}
    still: dict[int, bool] = {}
    for a, b in zip(valid[:-1], valid[1:]):
        if b - a > MAX_SKIP + 1 or cut[a + 1:b + 1].any():
            continue
        vis = masks[a] & masks[b]
        if vis.sum() < min_area:
            continue
        d[b] = 1.0 - ncc(grays[b], grays[a], vis)
        prev[b] = a
        ra, rb = recs[a], recs[b]
        iod = max(1.0, 0.5 * (ra.iod + rb.iod))
        still[b] = (np.isfinite(c[a]).all() and np.isfinite(c[b]).all()
                    and float(np.linalg.norm(c[b] - c[a])) / iod < STILL_SHIFT)
    if len(d) < 6:
        return [], {"jump_ref": None, "sizes": []}
    fin = np.array(list(d.values()))
    med = float(np.median(fin))
    mad = max(0.01, float(np.median(np.abs(fin - med))) * 1.4826)
    thr = max(JUMP_MIN, med + JUMP_Z * mad)
    jumps = [i for i in sorted(d) if d[i] >= thr and still[i]]
    runs: list[tuple[int, int]] = []
    sizes: list[tuple[float, float, float]] = []
    used = -1
    for i in jumps:
        if i <= used:
            continue
        before = prev[i]
        for j in jumps:
            if j <= i or j - i > max_len:
                continue
            if cut[i + 1:j + 1].any():
                break
            vis = masks[before] & masks[j]
            if vis.sum() < min_area:
                continue
            back = 1.0 - ncc(grays[before], grays[j], vis)
            if back <= RETURN_MAX:
                runs.append((i, j))
                sizes.append((float(d[i]), float(d[j]), float(back)))
                used = j
                break
    return runs, {"jump_ref": med, "jump_mad": mad, "jump_thr": thr, "jumps": len(jumps), "sizes": sizes}


# -- identity pops (the swap dropping out and coming back, seen at its transitions) ---------------

POP_MIN = 0.35            # 1 − NCC between consecutive frames, in the aligned crop AND in image space
POP_Z = 6.0
POP_RETURN = 0.20         # 1 − NCC to a frame on the other side of the foreign run: the same face again
POP_STILL = 0.30          # IOD of inner-face motion per frame: faster motion can blur the whole face


def _compose(mb: np.ndarray, ma: np.ndarray) -> np.ndarray:
    """2×3 mapping crop coordinates of ``ma`` to crop coordinates of ``mb``."""
    return (np.vstack([mb, [0, 0, 1]]) @ np.linalg.inv(np.vstack([ma, [0, 0, 1]])))[:2]


def identity_pops(recs: list[FrameRec], grays: list, excl: list, cut: np.ndarray, max_len: int, start: int = 0,
                  *, min_area: int = 300) -> tuple[list[tuple[int, int]], dict]:
    """A→B→A seen at its edges: a swap that loses the face (a hand over it, a profile) shows the
    impostor's own face until its next detection, then pastes the generated face again.

    A *pop* is a change of the visible face (outside hands/forearms in ``excl`` — per frame a
    sequence of (21, 2) hand landmark arrays in frame px — and the mouth) between two consecutive
    frames that is large both in the aligned crops (another-looking face) and after mapping the
    previous crop into the current one through both alignments (image space: the pixels changed,
    not just the landmark fit, as after a genuine re-detection). A pop is a flash when, within
    ``max_len`` frames on the other side of it, a frame looks again like the face before the pop
    (a return) or after it (a jump in), i.e. the changed face was a temporary other face.
    Returns the spans [i, j) of the foreign faces (from ``start`` on) and stats."""
    import cv2

    from interview_guard.challenges.geometry import ncc

    shp = (geo.CROP, geo.CROP)
    n = len(recs)
    k = max(3, int(round(0.08 * geo.CROP)))
    ker = np.ones((k, k), np.uint8)
    ok = [recs[i].face is not None and recs[i].m is not None and grays[i] is not None for i in range(n)]
    face_masks: dict[int, np.ndarray] = {}

    def face_mask(b: int) -> np.ndarray:
        if b not in face_masks:
            fa = geo.apply(recs[b].m, recs[b].face)
            lips = cv2.dilate(geo.poly_mask(fa[list(geo.LIPS_OUTER)], shp).astype(np.uint8), np.ones((9, 9), np.uint8))
            face_masks[b] = geo.poly_mask(fa[list(geo.FACE_OVAL)], shp) & ~lips.astype(bool)
        return face_masks[b]

    def dist(a: int, b: int) -> tuple[float, float]:
        vis = face_mask(b).copy()
        for j in (a, b):
            for h in excl[j]:
                ha = geo.apply(recs[b].m, h)
                hm = (geo.hand_hull_mask(ha, shp) | geo.forearm_mask(ha, shp)).astype(np.uint8)
                vis &= ~cv2.dilate(hm, ker).astype(bool)
        if vis.sum() < min_area:
            return float("nan"), float("nan")
        d_al = 1.0 - ncc(grays[b], grays[a], vis)
        wa = cv2.warpAffine(grays[a], _compose(recs[b].m, recs[a].m), shp, flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE)
        return d_al, 1.0 - ncc(grays[b], wa, vis)

    c = centroids(recs)
    d: dict[int, tuple[float, float]] = {}
    prev: dict[int, int] = {}
    for b in range(1, n):
        if not ok[b]:
            continue
        # the previous frame with a face: the frame before, or the one before that when the face
        # was lost for a single frame (under a hand, or as the swap switched off)
        a = b - 1 if ok[b - 1] else (b - 2 if b >= 2 and ok[b - 2] else -1)
        if a < 0 or cut[a + 1:b + 1].any():
            continue
        da, di = dist(a, b)
        if not (np.isfinite(da) and np.isfinite(di)):
            continue
        iod = max(1.0, 0.5 * (recs[a].iod + recs[b].iod))
        d[b] = (min(da, di), float(np.linalg.norm(c[b] - c[a])) / iod / (b - a))
        prev[b] = a
    if len(d) < 6:
        return [], {"pops": 0, "pop_thr": None}
    v = np.array([x for x, _ in d.values()])
    med = float(np.median(v))
    mad = max(0.01, float(np.median(np.abs(v - med))) * 1.4826)
    thr = max(POP_MIN, med + POP_Z * mad)
    pops = [b for b in sorted(d) if b >= max(1, start) and d[b][0] >= thr and d[b][1] < POP_STILL]
    spans: list[tuple[int, int]] = []
    for b in pops:
        a = prev[b]
        lim = min(POP_RETURN, 0.5 * d[b][0])
        found: list[tuple[int, int]] = []
        for a0 in range(a - 1, max(-1, a - 1 - max_len), -1):      # return: a0 ≈ b, the face a0+1..b−1 was foreign
            if cut[a0 + 1]:
                break
            if ok[a0]:
                x = dist(a0, b)
                if np.isfinite(x[0]) and min(x) <= lim:
                    found.append((a0 + 1, b))
                    break
        for c2 in range(b + 1, min(n, b + 1 + max_len)):             # jump in: c2 ≈ a, the face b..c2−1 is foreign
            if cut[c2]:
                break
            if ok[c2]:
                x = dist(a, c2)
                if np.isfinite(x[0]) and min(x) <= lim:
                    found.append((b, c2))
                    break
        if found:
            spans.append(min(found, key=lambda s_: s_[1] - s_[0]))
    merged: list[list[int]] = []                 # [start, end, number of edges (pops) seen]
    for i, j in sorted(spans):
        if merged and i <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], j)
            merged[-1][2] += 1
        else:
            merged.append([i, j, 1])
    return ([(i, j) for i, j, _ in merged],
            {"pops": len(pops), "pop_thr": thr, "bracketed": sum(e >= 2 for _, _, e in merged)})

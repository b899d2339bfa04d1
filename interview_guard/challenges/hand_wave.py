"""Scoring of the hand-wave challenge (detection-methods.md §2.2, challenge A).

Compliance, measured from the hand landmarks (never from the face mesh, which keeps returning a
full face under a hand):

* the hand crossed the face: its hull (dilated 10 %) covered ≥ 15 % of the face oval for a
  cumulative ≥ 0.25 s;
* it covered an eye or the mouth: the hand's skin mask (palm + fingers) covered ≥ 70 % of the
  eye opening or the outer lips in at least 3 frames;
* with a known prompt: the number of passes across the face and the direction of the first pass
  match. (Which hand is not checked: handedness labels are unreliable.)

Measurements during the window:

* **H1, face painted over the hand.** Where the hand covers an eye (with its brow) or the mouth,
  the pixels under the hand are compared with the region's own template taken from the frames
  before the hand arrived (zero-mean NCC, normalised by the template's self-similarity). A real
  hand hides the eye: visibility ≈ 0. A swap pasted through a fixed feathered mask paints the
  eye back over the hand: visibility ≈ 1.
* **Hand vanishing inside the face.** The hand is tracked before and after it crosses, but lost
  in between: the gap is interpolated and H1 is measured on the interpolated hand (weaker).
* **H2, hand colour integrity.** Cr/Cb of the hand's pixels inside the face oval vs outside it
  (Mahalanobis distance, pooled covariance).
* **Flash (fallback to the real face).** When a swapper loses the face under the hand it shows
  the impostor's own face for a few frames: the uncovered skin's detail and colour jump away
  from their usual level and come back. The face is often lost itself while that happens (a real
  hand over a real face), so the flash is also looked for at its edges
  (``signals.identity_pops``): a jump of the visible face, outside the hand, between two
  consecutive frames that is large both in the aligned crop and in image space, to a face that
  on the other side of the jump is seen again (A→B→A). A genuine hand does not change the
  face around it; a re-detection after a loss only changes the landmark fit, not the pixels.
* Hand frames where the hand is *held still* over the face (< 0.5 face widths/s) are not used for
  H1: the prompt is a pass, and the landmarks of a still, foreshortened hand (a fist, a thumbs-up
  close to the camera) do not outline what it hides.
* **Staircase motion** of the inner face (stale paste-back keypoints) and face-detection
  dropouts.

Verdict: failed when the hand went across the face (a pass, or the palm over the middle of the
face; a wave beside the face whose fingers graze it does not count) and the summed evidence ≥
``FAIL_LLR``; passed
when fully compliant and the evidence ≤ ``PASS_LLR``; else inconclusive (never failed for
non-compliance).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.challenges import signals as sig
from interview_guard.challenges.protocol import HAND_WAVE, HandWavePrompt
from interview_guard.challenges.record import FrameRec
from interview_guard.challenges.result import FAILED, INCONCLUSIVE, PASSED, ChallengeResult, times_word
from interview_guard.core.types import NS_PER_S

COVER_T = 0.70            # region fraction under the hand's skin mask to count as covered
VISIBLE_T = 0.55          # normalised NCC under the hand: the region still shows through
FACE_CROSS_T = 0.15       # hull ∩ oval / oval
CROSS_MIN_S = 0.25
MIN_COVERED = 3           # covered region-frames needed to judge H1
MAX_GAP_S = 1.2           # longest hand-track gap we interpolate across
SUSPECT_LO, SUSPECT_HI = 0.8, 1.35   # palm length vs the hand's own size away from the face
SIDE_T = 0.25             # |hand x − nose x| / face width beyond which the hand is "beside" the face
MIN_CLEAN = 4
MIN_REF_NCC = 0.3
MIN_IOD_PX = 16.0
FAIL_LLR = 3.0
PASS_LLR = 1.0
FLASH_MAX_S = 1.5
FLASH_MIN_IOD_PX = 20.0   # eye distance below which an identity flash is not evidence
FLASH_FULL_IOD_PX = 40.0  # ... and from which it counts fully (linear in between)

REGIONS = ("eye_a", "eye_b", "mouth")
REGION_WORDS = {"eye_a": "eye", "eye_b": "eye", "mouth": "mouth"}


def _primary_hand(rec: FrameRec) -> np.ndarray | None:
    """The hand nearest to the face (largest hull overlap, then nearest palm centre)."""
    if not rec.hands:
        return None
    if rec.face is None or len(rec.hands) == 1:
        return rec.hands[0]
    nose = rec.face[1]
    return min(rec.hands, key=lambda h: float(np.linalg.norm(h[[0, 5, 9, 13, 17]].mean(0) - nose)))


PHANTOM_INSIDE = 0.9      # a "hand" this much inside the face oval ...
PHANTOM_SPAN_S = 0.4      # ... with no detection around it that reaches out of the face is a phantom


def drop_phantom_hands(recs: list[FrameRec], nb: int = 0) -> list[FrameRec]:
    """Copies of ``recs`` without phantom hands: the palm detector sometimes fires on the face
    itself. A detection lying ≥ 90 % inside the face oval is a phantom when the same spot gave
    such a detection during the baseline (the first ``nb`` records, before any hand was asked
    for), or when no detection that reaches out of the face was seen near it (within 1.2 palm
    lengths) in the 0.4 s around it — a real hand comes from outside the face."""
    shp = (geo.CROP, geo.CROP)
    info: list[list[tuple[float, np.ndarray, float]]] = []      # (inside fraction, palm centre, palm length)
    for r in recs:
        vals = []
        oval = None
        if r.hands and r.face is not None and r.m is not None:
            oval = geo.poly_mask(geo.apply(r.m, r.face)[list(geo.FACE_OVAL)], shp)
        for h in r.hands:
            v = 0.0
            if oval is not None:
                hull = geo.hand_hull_mask(geo.apply(r.m, h), shp)
                v = float((hull & oval).sum()) / max(1, int(hull.sum()))
            vals.append((v, h[[0, 5, 9, 13, 17]].mean(0), geo.palm_length(h)))
        info.append(vals)
    base_spots = [(c, r.face) for i in range(min(nb, len(recs))) for (v, c, _), r in
                  zip(info[i], [recs[i]] * len(info[i])) if v >= PHANTOM_INSIDE and r.face is not None]
    t = np.array([r.t_ns for r in recs], np.int64)
    span = int(PHANTOM_SPAN_S * NS_PER_S)
    out = []
    for i, r in enumerate(recs):
        if not any(v >= PHANTOM_INSIDE for v, _, _ in info[i]):
            out.append(r)
            continue
        lo, hi = np.searchsorted(t, t[i] - span), np.searchsorted(t, t[i] + span, side="right")
        keep = []
        for h, (v, c, pl) in zip(r.hands, info[i]):
            if v < PHANTOM_INSIDE:
                keep.append(h)
                continue
            fw = _face_width(r.face) if r.face is not None else 1.0
            seen_before = any(float(np.linalg.norm((c - r.face[1]) - (bc - bf[1]))) < 0.5 * fw
                              for bc, bf in base_spots) if r.face is not None else False
            comes_from_out = any(v2 < 0.6 and float(np.linalg.norm(c2 - c)) < 1.2 * pl
                                 for j in range(lo, hi) for v2, c2, _ in info[j])
            if comes_from_out and not seen_before:
                keep.append(h)
        out.append(dataclasses.replace(r, hands=tuple(keep)) if len(keep) != len(r.hands) else r)
    return out


def hand_track(recs: list[FrameRec]) -> tuple[list[np.ndarray | None], np.ndarray, np.ndarray]:
    """Per frame: the primary hand, a bool array ``interpolated`` and a bool array ``unsure``
    (interpolated across a gap longer than ``CENTRE_GAP_S`` whose two ends were both over the
    middle of the face: the hand most likely left and came back, so the guess says it was at the
    face but not what it covered; such frames are not used for H1).

    A detection whose palm length departs from the hand's own size (measured while it is away
    from the face) by more than −20 %/+35 % is *suspect*: a hand partly painted over by a swap is
    returned shrunk or bent. Suspect and missing frames between two trusted detections near the
    face, at most ``MAX_GAP_S`` apart, get linearly interpolated landmarks."""
    n = len(recs)
    hands: list[np.ndarray | None] = [_primary_hand(r) if r.hands_ran else None for r in recs]
    pls = np.array([geo.palm_length(h) if h is not None else np.nan for h in hands])
    away = [i for i, h in enumerate(hands) if h is not None and not _touches_face(recs[i], h)]
    ref = float(np.median(pls[away])) if len(away) >= 3 else (
        float(np.nanpercentile(pls, 75)) if np.isfinite(pls).any() else float("nan"))
    trusted = [h is not None and (not np.isfinite(ref) or SUSPECT_LO * ref <= pls[i] <= SUSPECT_HI * ref)
               and not _at_edge(recs[i], h) for i, h in enumerate(hands)]
    interp = np.zeros(n, bool)
    unsure = np.zeros(n, bool)
    det_idx = [i for i in range(n) if trusted[i]]
    for a, b in zip(det_idx[:-1], det_idx[1:]):
        if b - a < 2:
            continue
        ta, tb = recs[a].t_ns, recs[b].t_ns
        if (tb - ta) > MAX_GAP_S * NS_PER_S:
            continue
        if not (_near_face(recs[a], hands[a]) and _near_face(recs[b], hands[b])):
            continue
        # seen over the middle of the face, lost for a while, seen there again: a hand the tracker found
        # over the face at both ends was not being painted over there, and had it stayed it would have
        # been seen; it most likely went out and came back, so the straight line says it was at the face
        # but not what it hid in between
        guess = (tb - ta) > CENTRE_GAP_S * NS_PER_S and _both_over_middle(recs[a], hands[a], recs[b], hands[b])
        ha, hb = hands[a], hands[b]
        for i in range(a + 1, b):
            if not recs[i].hands_ran:
                continue
            f = (recs[i].t_ns - ta) / max(1, tb - ta)
            hands[i] = (ha * (1 - f) + hb * f).astype(np.float32)
            interp[i] = True
            unsure[i] = guess
    return hands, interp, unsure


CENTRE_GAP_S = 0.25       # a longer gap between two sightings over the middle of the face is an unsure guess


def _both_over_middle(ra: FrameRec, ha: np.ndarray, rb: FrameRec, hb: np.ndarray) -> bool:
    """The hand was seen over the middle of the face (|x − nose x| < SIDE_T face widths) both when
    it was lost and when it was found again."""
    return all(r.face is not None and abs(_side(r.face, h)) < SIDE_T for r, h in ((ra, ha), (rb, hb)))


def _side(face: np.ndarray, hand: np.ndarray) -> float:
    """Palm centre's image-x offset from the nose, in face widths (> 0: right of the nose)."""
    return (float(hand[[0, 5, 9, 13, 17], 0].mean()) - float(face[1, 0])) / _face_width(face)


def _reached_centre(side: np.ndarray, hands: list, nb: int) -> bool:
    """The palm was over the middle of the face (|side| < SIDE_T) in two consecutive window frames,
    with the hand's usual size (a palm detection firing on the face itself is smaller)."""
    pls = np.array([geo.palm_length(h) if h is not None else np.nan for h in hands])
    if not np.isfinite(pls[nb:]).any():
        return False
    ref = float(np.nanpercentile(pls[nb:], 75))
    with np.errstate(invalid="ignore"):
        ok = (np.abs(side) < SIDE_T) & (pls >= SUSPECT_LO * ref)
    ok[:nb] = False
    return bool((ok[1:] & ok[:-1]).any())


HELD_SPEED = 0.5          # face widths per second: a hand slower than this over the face is held, not passing


def _held(recs: list[FrameRec], hands: list, dt_s: float) -> np.ndarray:
    """Per frame: the hand's palm centre moved less than ``HELD_SPEED`` over ±2 frames (only
    meaningful on frames where the hand was detected)."""
    n = len(recs)
    pc = np.array([h[[0, 5, 9, 13, 17]].mean(0) if h is not None else (np.nan, np.nan) for h in hands], np.float64)
    out = np.zeros(n, bool)
    for i in range(n):
        if hands[i] is None or recs[i].face is None:
            continue
        lo, hi = max(0, i - 2), min(n - 1, i + 2)
        while lo < i and not np.isfinite(pc[lo]).all():
            lo += 1
        while hi > i and not np.isfinite(pc[hi]).all():
            hi -= 1
        if hi == lo:
            continue
        speed = float(np.linalg.norm(pc[hi] - pc[lo])) / ((hi - lo) * dt_s) / _face_width(recs[i].face)
        out[i] = speed < HELD_SPEED
    return out


def _at_edge(rec: FrameRec, hand: np.ndarray) -> bool:
    """The hand touches the face oval's surroundings without overlapping the oval: where a hand
    painted over by a swap ends up (its landmarks stop at the pasted face's edge)."""
    if rec.face is None or rec.m is None:
        return False
    shp = (geo.CROP, geo.CROP)
    fa = geo.apply(rec.m, rec.face)
    oval = geo.poly_mask(fa[list(geo.FACE_OVAL)], shp)
    hull = geo.hand_hull_mask(geo.apply(rec.m, hand), shp)
    if geo.coverage(oval, hull) >= 0.03:
        return False
    k = max(3, int(round(ADJ_FRAC * geo.CROP)))
    return bool((_dilate(hull, k) & oval).any())


def _touches_face(rec: FrameRec, hand: np.ndarray) -> bool:
    if rec.face is None:
        return True
    fw = _face_width(rec.face)
    x0, y0 = rec.face[list(geo.FACE_OVAL)].min(0) - 0.1 * fw
    x1, y1 = rec.face[list(geo.FACE_OVAL)].max(0) + 0.1 * fw
    hx0, hy0 = hand.min(0)
    hx1, hy1 = hand.max(0)
    return not (hx1 < x0 or hx0 > x1 or hy1 < y0 or hy0 > y1)


def _hand_at_face(rec: FrameRec, tracked: np.ndarray | None) -> bool:
    """A detected hand, or the tracked (possibly interpolated) one, touches the face's box."""
    return any(_touches_face(rec, h) for h in [*rec.hands, *([] if tracked is None else [tracked])])


def _near_face(rec: FrameRec, hand: np.ndarray) -> bool:
    if rec.face is None:
        return False
    fw = _face_width(rec.face)
    return float(np.linalg.norm(hand[[0, 5, 9, 13, 17]].mean(0) - rec.face[1])) < 2.2 * fw


def _face_width(face: np.ndarray) -> float:
    return float(np.linalg.norm(face[234] - face[454])) or 1.0


class HandWaveScorer:
    kind = HAND_WAVE

    def score(self, baseline: list[FrameRec], window: list[FrameRec], *, prompt: HandWavePrompt | None,
              t_start_ns: int, t_end_ns: int, cut_short: bool = False) -> ChallengeResult:
        m: dict = {}
        pj = prompt.to_json() if prompt is not None else None

        def result(res: str, llr: float, quality: float, reasons: list[str]) -> ChallengeResult:
            return ChallengeResult(self.kind, res, float(llr), quality, tuple(reasons), t_start_ns, t_end_ns, m, pj)

        m["frames"] = len(window)
        m["cut_short"] = cut_short
        if not window:
            return result(INCONCLUSIVE, 0.0, 0.0, ["no video arrived during the challenge: ask again"])
        face_frac = sum(r.has_face for r in window) / len(window)
        m["face_fraction"] = face_frac
        iods = [r.iod for r in window if r.has_face]
        iod = float(np.median(iods)) if iods else 0.0
        m["iod_px"] = iod
        if face_frac < 0.5:
            return result(INCONCLUSIVE, 0.0, 0.1, ["the face was not visible for most of the challenge: ask again"])
        if iod < MIN_IOD_PX:
            return result(INCONCLUSIVE, 0.0, 0.1, ["the face is too small in the picture to judge: "
                                                   "ask the candidate to come closer, then ask again"])

        recs = drop_phantom_hands(baseline + window, len(baseline))
        nb = len(baseline)
        window = recs[nb:]
        hands, interp, unsure = hand_track(recs)
        cut = sig.cuts(recs)
        dt_s = _median_dt(recs)

        # -- per-frame geometry in the aligned crop ----------------------------------------------
        n = len(recs)
        cov = np.full((n, 3), np.nan)
        face_cov = np.zeros(n)
        side = np.full(n, np.nan)
        shape_masks: list[np.ndarray | None] = [None] * n
        hull_masks: list[np.ndarray | None] = [None] * n
        ovals: list[np.ndarray | None] = [None] * n
        face_al: list[np.ndarray | None] = [None] * n
        shp = (geo.CROP, geo.CROP)
        for i, r in enumerate(recs):
            if r.face is None or r.m is None:
                continue
            fa = geo.apply(r.m, r.face)
            face_al[i] = fa
            ovals[i] = geo.poly_mask(fa[list(geo.FACE_OVAL)], shp)
            h = hands[i]
            if h is None:
                continue
            ha = geo.apply(r.m, h)
            shape = geo.hand_shape_mask(ha, shp)
            hull = geo.hand_hull_mask(ha, shp)
            shape_masks[i], hull_masks[i] = shape, hull
            face_cov[i] = geo.coverage(ovals[i], hull)
            for k, reg in enumerate((geo.EYE_A, geo.EYE_B, geo.LIPS_OUTER)):
                cov[i, k] = geo.coverage(geo.poly_mask(fa[list(reg)], shp), shape)
            side[i] = _side(r.face, h)

        # -- templates from clean frames (a face, hands looked for, no hand touching the face) --------
        # a hand elsewhere in the picture (resting on the desk, holding a cup, the candidate's other
        # hand) does not spoil the eye and mouth templates; only one over or at the face does
        clean = [i for i, r in enumerate(recs)
                 if r.face is not None and r.crop is not None and r.hands_ran and not _hand_at_face(r, hands[i])]
        clean_b = [i for i in clean if i < nb]
        use = clean_b if len(clean_b) >= MIN_CLEAN else clean
        m["clean_frames"] = len(use)
        if len(use) < MIN_CLEAN:
            return result(INCONCLUSIVE, 0.0, 0.2, ["the face was never seen without a hand in front of it, so "
                                                   "there was nothing to compare with: ask again"])
        med_al = np.median(np.stack([face_al[i] for i in use]), axis=0)
        boxes = geo.region_boxes(med_al)
        grays = [None if r.crop is None else _gray(r.crop) for r in recs]
        templates, refs = {}, {}
        for reg in REGIONS:
            x0, y0, x1, y1 = boxes[reg]
            if x1 - x0 < 4 or y1 - y0 < 4:
                continue
            stack = np.stack([grays[i][y0:y1, x0:x1] for i in use]).astype(np.float32)
            tpl = np.median(stack, axis=0)
            ref = float(np.median([geo.ncc(p, tpl) for p in stack]))
            if ref >= MIN_REF_NCC:
                templates[reg], refs[reg] = tpl, ref
        m["template_ref_ncc"] = {k: round(v, 3) for k, v in refs.items()}

        # -- H1: visibility of covered regions ---------------------------------------------------
        vis_det: list[float] = []
        vis_int: list[float] = []
        covered_regions: set[str] = set()
        win = range(nb, n)
        held = _held(recs, hands, dt_s)
        n_held = 0
        for i in win:
            if shape_masks[i] is None or grays[i] is None:
                continue
            if held[i] and not interp[i]:
                # a hand held still in front of the face is not the prompted pass, and the landmarks of a
                # still, foreshortened hand (a fist, a thumbs-up) do not outline what it hides: not judged
                n_held += int(bool(np.any(cov[i] >= COVER_T)))
                continue
            if unsure[i]:
                continue
            for k, reg in enumerate(REGIONS):
                if reg not in templates or not (cov[i, k] >= COVER_T):
                    continue
                x0, y0, x1, y1 = boxes[reg]
                patch = grays[i][y0:y1, x0:x1]
                mk = shape_masks[i][y0:y1, x0:x1]
                if mk.mean() >= 0.35:
                    v = geo.ncc(patch, templates[reg], mk)
                else:
                    v = geo.ncc(patch, templates[reg])
                if not math.isfinite(v):
                    continue
                v = v / refs[reg]
                (vis_int if interp[i] else vis_det).append(v)
                covered_regions.add(REGION_WORDS[reg])
        n_cov_d, n_cov_i = len(vis_det), len(vis_int)
        m["covered_frames_held"] = n_held
        n_vis_d = int(sum(v >= VISIBLE_T for v in vis_det))
        n_vis_i = int(sum(v >= VISIBLE_T for v in vis_int))
        m.update(covered_frames=n_cov_d, covered_visible=n_vis_d, covered_frames_interp=n_cov_i,
                 covered_visible_interp=n_vis_i,
                 visibility_median=float(np.median(vis_det)) if vis_det else None,
                 visibility_median_interp=float(np.median(vis_int)) if vis_int else None)

        # -- hand colour inside vs outside the face oval (H2) -------------------------------------
        dists = []
        for i in win:
            if shape_masks[i] is None or interp[i] or ovals[i] is None or recs[i].crop is None:
                continue
            if face_cov[i] < FACE_CROSS_T:
                continue
            inside = shape_masks[i] & _erode(ovals[i], 3)
            outside = shape_masks[i] & ~_dilate(ovals[i], 3)
            a = geo.ycrcb_stats(recs[i].crop, inside)
            b = geo.ycrcb_stats(recs[i].crop, outside)
            if a is None or b is None or inside.sum() < 30 or outside.sum() < 30:
                continue
            d = a[0][1:] - b[0][1:]
            pooled = (a[1] + b[1]) / 2
            dists.append(float(math.sqrt(max(0.0, d @ np.linalg.solve(pooled, d)))))
        hand_colour = float(np.median(dists)) if len(dists) >= 3 else float("nan")
        m["hand_colour_distance"] = hand_colour if math.isfinite(hand_colour) else None

        # -- passes and direction ------------------------------------------------------------------
        crossed_s = float(sum(face_cov[i] >= FACE_CROSS_T for i in win)) * dt_s
        passes, first_dir, vanished = _count_passes(side[nb:], face_cov[nb:], [hands[i] is not None and not interp[i]
                                                                              for i in win],
                                                    late_touch=max(1, int(round(LATE_TOUCH_S / max(dt_s, 1e-3)))))
        m.update(face_covered_s=crossed_s, passes=passes, passes_unseen=vanished, first_direction=first_dir,
                 max_face_coverage=float(face_cov[nb:].max()) if n > nb else 0.0)

        # -- flashes on the visible skin -------------------------------------------------------------
        arm_masks = [None if (hands[i] is None or recs[i].m is None) else
                     hull_masks[i] | geo.forearm_mask(geo.apply(recs[i].m, hands[i]), shp) for i in range(n)]
        flash, fstats = _flashes_visible(recs, nb, grays, arm_masks, face_al, cut, dt_s)
        m["flash_runs"] = len(flash)
        m["flash_frames"] = int(sum(j - i for i, j in flash))
        m["jump_ref"] = fstats.get("jump_ref")
        # the same A→B→A seen at its edges (the face is often lost while the swap is off, so the
        # foreign face itself is rarely measurable, but its jump in or back out is)
        excl = [tuple(r.hands) + ((hands[i],) if hands[i] is not None and interp[i] else ()) for i, r in enumerate(recs)]
        pops, pstats = sig.identity_pops(recs, grays, excl, cut,
                                         max(1, int(round(FLASH_MAX_S / max(dt_s, 1e-3)))), nb)
        m["pop_flashes"] = len(pops)
        m["pops"] = pstats.get("pops")
        m["pop_flashes_bracketed"] = pstats.get("bracketed")

        # -- does the tracked hand actually overlap the face when it is at the face? ----------------
        deficit, near_n = _overlap_deficit(recs, nb, interp, ovals, dt_s)
        m["overlap_deficit"] = deficit
        m["near_face_frames"] = near_n

        # -- staircase motion, dropouts ------------------------------------------------------------
        touching = np.array([hull_masks[i] is not None and face_cov[i] > 0 for i in win])
        near = np.convolve(touching.astype(float), np.ones(5), mode="same") > 0 if touching.size else touching
        st = sig.stair_step(window, iod, cut[nb:], exclude=near)
        m["stair_ratio"] = st["ratio"] if math.isfinite(st["ratio"]) else None
        m["moving_frames"] = st["moving_frames"]
        # a real face can be lost under a hand; count only losses with no hand near the face
        near_hand = np.array([hands[i] is not None for i in win])
        near_hand = np.convolve(near_hand.astype(float), np.ones(7), mode="same") > 0 if near_hand.size else near_hand
        drop = _dropouts(window, near_hand)
        m["face_dropouts"] = drop

        self.debug = {"face_cov": face_cov[nb:], "cov": cov[nb:], "interp": interp[nb:], "side": side[nb:],
                      "detected": np.array([hands[i] is not None and not interp[i] for i in win]),
                      "has_face": np.array([recs[i].face is not None for i in win]), "flash": flash}
        # -- evidence ---------------------------------------------------------------------------------
        parts: dict[str, float] = {}
        reasons_fake: list[str] = []
        if n_cov_d >= MIN_COVERED:
            frac = n_vis_d / n_cov_d
            # a hidden region is weak evidence of a real hand (a swap that drops out shows the
            # impostor's real face with a real hand over it); a visible one is strong evidence of a swap
            parts["h1"] = _ramp(frac, 0.15, 0.5, -0.5, 5.0) * min(1.0, n_cov_d / 6.0)
            if frac >= 0.3:
                reasons_fake.append(f"the {_words(covered_regions)} stayed visible through the hand in "
                                    f"{n_vis_d} of {n_cov_d} frames")
        if n_cov_i >= MIN_COVERED:
            frac_i = n_vis_i / n_cov_i
            parts["h1_interp"] = _ramp(frac_i, 0.2, 0.6, -0.5, 3.0) * min(1.0, n_cov_i / 8.0)
            if frac_i >= 0.4:
                reasons_fake.append("the hand vanished while it crossed the face and the face showed through "
                                    "where the hand should have been")
        if math.isfinite(hand_colour):
            parts["h2"] = _ramp(hand_colour, 2.5, 6.0, -0.3, 1.0)
        n_flash = max(len(flash), len(pops))
        small_face_flash = False
        if n_flash:
            pop_llr = 0.0
            if pops:       # the first foreign face 2 (3 when both its edges were seen), +1 for each further one
                pop_llr = min(4.5, 2.0 + (1.0 if pstats.get("bracketed") else 0.0) + 1.0 * (len(pops) - 1))
            # on a small face a compressed stream's own texture jumps (a key frame, a bitrate step)
            # look like another face: the flash counts fully only from FLASH_FULL_IOD_PX eye distance
            size_w = _ramp(iod, FLASH_MIN_IOD_PX, FLASH_FULL_IOD_PX, 0.0, 1.0)
            m["flash_size_weight"] = round(size_w, 3)
            small_face_flash = size_w < 1.0
            parts["flash"] = size_w * max(min(4.5, 3.0 * len(flash)), pop_llr)
            spans = flash if len(flash) >= len(pops) else pops
            dur = sum(j - i for i, j in spans) * dt_s
            reasons_fake.append(f"the face's appearance jumped to another face and came back ({n_flash}× for "
                                f"{dur:.1f} s) while the hand was near it, as when a face swap drops out")
        if deficit is None and near_n < 0:
            m["hand_too_fast"] = True
        if deficit is not None and near_n >= DEFICIT_MIN_FRAMES:
            parts["overlap_deficit"] = _ramp(deficit, 0.40, 0.65, -0.3, 3.0)
            if deficit >= 0.55:
                reasons_fake.append("when the hand reached the face it was mostly lost or stopped at its edge "
                                    "instead of passing in front of it, as when the face is painted over the hand")
        if math.isfinite(st["ratio"]):
            parts["stair"] = _ramp(st["ratio"], 1.0, 2.0, -0.3, 1.5)
            if st["ratio"] >= 1.5:
                reasons_fake.append("the face moved in steps rather than smoothly with the head")
        if drop >= 2:
            parts["dropouts"] = min(1.5, 0.5 * drop)
        total = float(sum(parts.values()))
        # the overlap deficit and the staircase are circumstantial (a wave beside the face also stops at
        # its edge; motion can look stepped): alone they cannot fail a window, one direct observation of
        # the swap is needed (the face through the hand, a flash of another face, dropouts, or the hand's
        # colour inside the face)
        direct = any(parts.get(k, 0.0) > 0 for k in ("h1", "h1_interp", "flash", "dropouts", "h2"))
        m["direct_evidence"] = direct
        if not direct:
            total = min(total, FAIL_LLR - 0.01)
        m["llr_parts"] = {k: round(v, 3) for k, v in parts.items()}
        m["llr_total"] = total

        crossed = crossed_s >= CROSS_MIN_S or (vanished > 0)
        # to fail, the hand must have gone *across* the face: a pass, or its palm over the middle of the
        # face (|x − nose x| < SIDE_T face widths); a wave beside the face whose fingers graze it is not
        # the prompted gesture, whatever the artefacts (non-compliance is never failed)
        centre = _reached_centre(side, hands, nb)
        m["hand_reached_centre"] = centre
        across = crossed and (passes > 0 or centre)
        covered_any = (n_cov_d + n_cov_i) >= MIN_COVERED
        nonce_ok, nonce_msg = self._nonce(prompt, passes, first_dir)
        m["nonce_ok"] = nonce_ok
        quality = float(min(1.0, face_frac * min(1.0, (n_cov_d + 0.5 * n_cov_i) / 6.0 + 0.2)))
        m["compliant"] = bool(crossed and covered_any and nonce_ok)

        if across and total >= FAIL_LLR:
            head = f"the hand crossed the face {times_word(max(passes, 1))}"
            return result(FAILED, min(5.0, max(3.0, total)), max(quality, 0.5),
                          [head] + (reasons_fake or ["several swap artefacts appeared while it did"]))
        if not crossed:
            if not any(h is not None for h in hands[nb:]):
                msg = "no hand was seen in front of the face: ask again"
            else:
                msg = "the hand did not cross the face: ask again"
            return result(INCONCLUSIVE, 0.0, quality * 0.5, [msg])
        if not covered_any:
            return result(INCONCLUSIVE, 0.0, quality * 0.5,
                          ["the hand passed the face without covering the eyes or the mouth: ask again, "
                           "closer to the face"])
        if not nonce_ok:
            return result(INCONCLUSIVE, 0.0, quality * 0.5, [nonce_msg])
        if m.get("hand_too_fast") and (n_cov_d < MIN_COVERED or not centre):
            # a hand this fast is mostly a blur to the hand tracker; when it was nevertheless seen over
            # the middle of the face covering the eyes or mouth, the test was done and is judged below
            return result(INCONCLUSIVE, 0.0, quality * 0.5,
                          ["the hand moved too fast for the camera's frame rate to see it over the face: "
                           "ask again, more slowly"])
        if n_cov_d < MIN_COVERED:
            return result(INCONCLUSIVE, 0.0, quality * 0.5,
                          ["the hand was not seen clearly over the eyes or the mouth: ask again, slowly and "
                           "close to the face"])
        if not centre:
            # a pass says the hand was seen in front of the face hiding it: a hand only ever seen at
            # the face's edge (where a swap painting the face over it leaves it) cannot pass
            return result(INCONCLUSIVE, 0.0, quality * 0.5,
                          ["the hand was never seen over the middle of the face: ask again, slowly, with the "
                           "palm passing right in front of the nose"])
        if small_face_flash:
            # a flash that might be a swap dropping out was seen but the face is too small to be sure:
            # it cannot fail the window, and it must not let it pass either
            return result(INCONCLUSIVE, 0.0, quality * 0.5,
                          ["the face flickered as the hand passed, but it is too small in the picture to tell "
                           "a swap dropping out from video compression: ask the candidate to come closer, "
                           "then ask again"])
        if total <= PASS_LLR:
            what = _words(covered_regions) or "face"
            llr = -1.0 - min(1.0, max(0.0, -total) / 2.0)
            return result(PASSED, llr, quality,
                          [f"the hand covered the {what} {times_word(max(1, passes)) if passes else ''} and hid "
                           f"{'them' if len(covered_regions) > 1 or what.endswith('s') else 'it'} as a real hand does"
                           .replace("  ", " "),
                           "no swap artefacts appeared"])
        return result(INCONCLUSIVE, 0.0, quality * 0.5,
                      ["some measurements were unusual but not conclusive: ask again"]
                      + reasons_fake[:1])

    @staticmethod
    def _nonce(prompt: HandWavePrompt | None, passes: int, first_dir: int) -> tuple[bool, str]:
        if prompt is None:
            return True, ""
        if passes < prompt.passes:
            return False, (f"the hand crossed the face {times_word(passes)} but the instruction asked for "
                           f"{times_word(prompt.passes)}: ask again")
        if first_dir != 0 and first_dir != prompt.image_dx_sign:
            return False, "the hand crossed in the other direction than asked: ask again"
        return True, ""


DEFICIT_MIN_FRAMES = 15
MAX_HAND_SPEED = 0.30     # palm lengths per frame near the face; faster is a blur at this frame rate
ADJ_FRAC = 0.06           # "at the face": the hand's hull dilated by this fraction of the crop touches the oval


def _overlap_deficit(recs, nb, interp, ovals, dt_s) -> tuple[float | None, int]:
    """Of the frames where the hand is at the face (its hull touches or overlaps the face oval, or it
    was lost there), the fraction where it does *not* overlap the oval. A real hand passing over the
    face overlaps it; a hand painted over by a maskless swap is lost, or its landmarks stop at the
    edge of the pasted face."""
    shp = (geo.CROP, geo.CROP)
    k = max(3, int(round(ADJ_FRAC * geo.CROP)))
    states = []
    for i in range(nb, len(recs)):
        r = recs[i]
        if r.face is None or ovals[i] is None:
            states.append("x")
            continue
        if not r.hands:
            states.append("L" if interp[i] else ".")
            continue
        best = "-"
        for h in r.hands:
            hull = geo.hand_hull_mask(geo.apply(r.m, h), shp)
            if geo.coverage(ovals[i], hull) >= 0.03:
                best = "O"
                break
            if (_dilate(hull, k) & ovals[i]).any():
                best = "A"
        states.append(best)
    # how fast the hand moves near the face (palm lengths per frame): too fast for the frame rate
    # and the hand tracker cannot see it over the face even when it is real (motion blur)
    speeds = []
    for i in range(nb + 1, len(recs)):
        a, b = recs[i - 1], recs[i]
        if not a.hands or not b.hands or b.face is None or not _near_face(b, _primary_hand(b)):
            continue
        ha, hb = _primary_hand(a), _primary_hand(b)
        pc = lambda h: h[[0, 5, 9, 13, 17]].mean(0)      # noqa: E731
        speeds.append(float(np.linalg.norm(pc(hb) - pc(ha))) / max(1.0, geo.palm_length(hb)))
    span = max(1, int(round(1.0 / max(dt_s, 1e-3))))
    near = overl = 0
    last_near = -10 ** 9
    for i, s in enumerate(states):
        if s in "OA":
            last_near = i
        if s == "O":
            overl += 1
            near += 1
        elif s in "AL":
            near += 1
        elif s in ".x" and i - last_near <= span:
            nxt = next((states[j] for j in range(i + 1, min(len(states), i + span + 1)) if states[j] in "OA-"), None)
            if nxt in ("O", "A"):
                near += 1
    speed = float(np.percentile(speeds, 75)) if speeds else 0.0
    if speed > MAX_HAND_SPEED:
        return None, -near
    return (1.0 - overl / near if near else None), near


def _count_passes(side: np.ndarray, face_cov: np.ndarray, detected: list[bool],
                  late_touch: int = 0) -> tuple[int, int, int]:
    """Crossings of the face centre line with hysteresis ±SIDE_T, each needing the hull to touch the
    face in between — or within ``late_touch`` frames after the crossing (a fast hand's palm centre
    can pass the line a frame before its hull is found over the face). Returns (passes, sign of the
    first pass's image-x direction, crossings made while the hand was not detected)."""
    state = 0
    touched = False
    passes = 0
    first = 0
    vanished = 0
    seen_since = True
    pending: list = []                      # [direction, frames left] of a crossing awaiting its touch
    for s, fc, det in zip(side, face_cov, detected):
        if pending:
            pending[1] -= 1
            if pending[1] < 0:
                pending = []
        if fc >= 0.10:
            if pending:
                passes += 1
                if first == 0:
                    first = pending[0]
                pending = []
            else:
                touched = True
        if not det:
            seen_since = False
        if not np.isfinite(s):
            continue
        new = 1 if s > SIDE_T else (-1 if s < -SIDE_T else 0)
        if new == 0:
            continue
        if state == 0:
            state = new
            touched = False
            seen_since = True
            continue
        if new != state:
            pending = []
            if touched or not seen_since:
                passes += 1
                if first == 0:
                    first = 1 if new > state else -1
                if not seen_since:
                    vanished += 1
            elif late_touch > 0:
                pending = [1 if new > state else -1, late_touch]
            state = new
            touched = False
            seen_since = True
    return passes, first, vanished


LATE_TOUCH_S = 0.15


def _flashes_visible(recs, nb, grays, hull_masks, face_al, cut, dt_s):
    """Identity flashes on the visible face (``signals.appearance_flashes``), only in the window."""
    shp = (geo.CROP, geo.CROP)
    k = max(3, int(round(0.08 * geo.CROP)))
    masks = []
    for i, r in enumerate(recs):
        if face_al[i] is None or grays[i] is None:
            masks.append(None)
            continue
        reg = geo.poly_mask(face_al[i][list(geo.FACE_OVAL)], shp)
        reg &= ~_dilate(geo.poly_mask(face_al[i][list(geo.LIPS_OUTER)], shp), 9)
        if hull_masks[i] is not None:
            reg &= ~_dilate(hull_masks[i], k)
        masks.append(reg)
    max_len = max(1, int(round(FLASH_MAX_S / max(dt_s, 1e-3))))
    runs, stats = sig.appearance_flashes(recs, grays, masks, cut, max_len)
    return [(i, j) for i, j in runs if i >= nb], stats


def _dropouts(window: list[FrameRec], ignore: np.ndarray | None = None) -> int:
    """Frames without a face between frames with one (``ignore``: frames not to count)."""
    has = [r.has_face for r in window]
    if True not in has:
        return 0
    a = has.index(True)
    b = len(has) - 1 - has[::-1].index(True)
    return int(sum(not has[i] and not (ignore is not None and ignore[i]) for i in range(a, b + 1)))


def _median_dt(recs: list[FrameRec]) -> float:
    if len(recs) < 2:
        return 1 / 30
    d = np.diff([r.t_ns for r in recs]) / NS_PER_S
    d = d[d > 0]
    return float(np.median(d)) if d.size else 1 / 30


def _gray(rgb: np.ndarray) -> np.ndarray:
    return (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]).astype(np.float32)


def _erode(m: np.ndarray, k: int) -> np.ndarray:
    import cv2

    return cv2.erode(m.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


def _dilate(m: np.ndarray, k: int) -> np.ndarray:
    import cv2

    return cv2.dilate(m.astype(np.uint8), np.ones((k, k), np.uint8)).astype(bool)


def _ramp(x: float, x0: float, x1: float, y0: float, y1: float) -> float:
    if x <= x0:
        return y0
    if x >= x1:
        return y1
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _words(regions: set[str]) -> str:
    r = sorted(regions)
    if not r:
        return ""
    if r == ["eye"]:
        return "eyes"
    if r == ["eye", "mouth"]:
        return "eyes and mouth"
    return r[0]

"""Scoring of the head-turn challenge (detection-methods.md §2.2, challenge B).

Compliance, from the head pose (MediaPipe's facial transformation matrix):

* with a prompt: |yaw| reached ``min_yaw_deg`` towards the first requested side, then towards the
  other side, in that order (the candidate's left is the image's right in an unmirrored stream);
* without a prompt (offline span of a recording): ``min_yaw_deg`` reached on at least one side.

A turn beyond ``strong_yaw_deg`` (45°) reaches the range where real-time swappers lose the face
and fall back to the impostor's own face; a pass below it counts for less (llr −1 instead of −2)
and the reason says so.

Measurements during the window:

* **T1 flash / dropout.** The face (without the mouth) compared frame to frame by NCC in the
  aligned crop: a jump to another-looking face that jumps back to the face before it (A→B→A, the
  swap dropping out near profile), and frames where the face detector lost the face although the
  head was within ±50° (a real face at that angle is found).
* **T2 staircase motion** of the inner face (stale paste-back keypoints), see ``signals``.
* **T3 sharpness** of the face vs its surroundings (temple/ear/neck patches): the change of the
  log ratio from frontal frames to the most turned frames.
* **T4 colour**: the change of the face-vs-surroundings ΔE (Lab) from frontal to turned frames.

Verdict: failed when the head turned past ``min_yaw_deg`` to both sides (to either side without a
prompt) and the summed evidence ≥ ``FAIL_LLR``; passed when fully compliant (both sides, in the
asked order) and the evidence ≤ ``PASS_LLR``; otherwise inconclusive.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.challenges import signals as sig
from interview_guard.challenges.hand_wave import _dilate, _gray, _median_dt, _ramp
from interview_guard.challenges.protocol import HEAD_TURN, LEFT, RIGHT, HeadTurnPrompt
from interview_guard.challenges.record import PATCHES, FrameRec
from interview_guard.challenges.result import FAILED, INCONCLUSIVE, PASSED, ChallengeResult

FAIL_LLR = 3.0
PASS_LLR = 1.0
DEFAULT_MIN_YAW = 25.0
STRONG_YAW = 45.0
FRONTAL_YAW = 12.0
STEPPY_RATIO = 1.0        # staircase ratio from which a turn cannot pass (smooth motion gives ≪ 1)
DROPOUT_MAX_YAW = 50.0
FLASH_MAX_S = 1.5
MIN_IOD_PX = 14.0

IN_P = [i for i, p in enumerate(PATCHES) if p[4] == "in"]
OUT_P = [i for i, p in enumerate(PATCHES) if p[4] == "out"]


class HeadTurnScorer:
    kind = HEAD_TURN

    def score(self, baseline: list[FrameRec], window: list[FrameRec], *, prompt: HeadTurnPrompt | None,
              t_start_ns: int, t_end_ns: int, cut_short: bool = False) -> ChallengeResult:
        m: dict = {}
        pj = prompt.to_json() if prompt is not None else None

        def result(res: str, llr: float, quality: float, reasons: list[str]) -> ChallengeResult:
            return ChallengeResult(self.kind, res, float(llr), quality, tuple(reasons), t_start_ns, t_end_ns, m, pj)

        m["frames"] = len(window)
        m["cut_short"] = cut_short
        if not window:
            return result(INCONCLUSIVE, 0.0, 0.0, ["no video arrived during the challenge: ask again"])
        faces = [r for r in window if r.has_face]
        face_frac = len(faces) / len(window)
        m["face_fraction"] = face_frac
        iod = float(np.median([r.iod for r in faces])) if faces else 0.0
        m["iod_px"] = iod
        if face_frac < 0.4:
            return result(INCONCLUSIVE, 0.0, 0.1, ["the face was not visible for most of the challenge: ask again"])
        if iod < MIN_IOD_PX:
            return result(INCONCLUSIVE, 0.0, 0.1, ["the face is too small in the picture to judge: "
                                                   "ask the candidate to come closer, then ask again"])
        min_yaw = prompt.min_yaw_deg if prompt is not None else DEFAULT_MIN_YAW
        strong = prompt.strong_yaw_deg if prompt is not None else STRONG_YAW
        mirrored = prompt.mirrored if prompt is not None else False

        yaw = np.array([r.yaw if r.has_face else np.nan for r in window])
        t = np.array([r.t_ns for r in window], np.int64)
        pos, neg = float(np.nanmax(yaw)), float(-np.nanmin(yaw))
        m["yaw_max_pos"], m["yaw_max_neg"] = pos, neg
        m["yaw_baseline"] = float(np.nanmedian([r.yaw for r in baseline if r.has_face])) if any(
            r.has_face for r in baseline) else None

        def side_of(sign: int) -> str:       # image yaw sign → the candidate's side
            s = LEFT if sign > 0 else RIGHT
            return s if not mirrored else (RIGHT if s == LEFT else LEFT)

        def peak(side: str) -> tuple[float, int | None]:
            sgn = 1 if side_of(1) == side else -1
            v = sgn * yaw
            with np.errstate(invalid="ignore"):
                hit = np.nonzero(v >= min_yaw)[0]
            return float(np.nanmax(v)), (int(t[hit[0]]) if hit.size else None)

        p_left, t_left = peak(LEFT)
        p_right, t_right = peak(RIGHT)
        m["yaw_left"], m["yaw_right"] = p_left, p_right
        turned_any = max(p_left, p_right) >= min_yaw
        order_ok = True
        if prompt is not None:
            t1, t2 = (t_left, t_right) if prompt.first == LEFT else (t_right, t_left)
            p1, p2 = (p_left, p_right) if prompt.first == LEFT else (p_right, p_left)
            full = p1 >= min_yaw and p2 >= min_yaw
            if full and t1 is not None and t2 is not None and t1 > t2:
                order_ok = False
            compliant = full and order_ok
        else:
            compliant = turned_any
        m["compliant"] = bool(compliant)

        cut = sig.cuts(window)
        dt_s = _median_dt(window)
        # -- T2 staircase ----------------------------------------------------------------------------
        st = sig.stair_step(window, iod, cut)
        m["stair_ratio"] = st["ratio"] if math.isfinite(st["ratio"]) else None
        m["moving_frames"] = st["moving_frames"]
        # -- T1 flashes and dropouts -------------------------------------------------------------------
        flashes = _flashes(window, cut, dt_s)
        m["flash_runs"] = len(flashes)
        drops = _dropouts(window)
        m["face_dropouts"] = drops
        # -- T3/T4: face vs surroundings, frontal vs turned -------------------------------------------
        sharp_d, colour_d = _profile_mismatch(window)
        m["sharpness_change"] = sharp_d if math.isfinite(sharp_d) else None
        m["colour_change"] = colour_d if math.isfinite(colour_d) else None

        parts: dict[str, float] = {}
        reasons_fake: list[str] = []
        if math.isfinite(st["ratio"]):
            parts["stair"] = _ramp(st["ratio"], 1.0, 1.6, -1.0, 4.0)
            if st["ratio"] >= 1.3:
                reasons_fake.append("the face moved in steps rather than smoothly with the head "
                                    "(a face swap refreshing its position every few frames)")
        if flashes:
            parts["flash"] = min(4.0, 2.5 * len(flashes))
            reasons_fake.append(f"the face's appearance jumped and came back {len(flashes)}× during the turn, "
                                "as when a face swap drops out")
        if drops:
            parts["dropouts"] = min(3.0, 1.0 * drops)
            reasons_fake.append(f"the face was lost for {drops} frame{'s' if drops > 1 else ''} at an angle "
                                "where a real face stays visible")
        # weak cues (T3/T4): on the development set the colour change also fired on genuine turns
        if math.isfinite(sharp_d):
            parts["sharpness"] = _ramp(abs(sharp_d), 0.8, 1.6, -0.2, 0.5)
        if math.isfinite(colour_d):
            parts["colour"] = _ramp(abs(colour_d), 8.0, 16.0, -0.2, 0.5)
        total = float(sum(parts.values()))
        m["llr_parts"] = {k: round(v, 3) for k, v in parts.items()}
        m["llr_total"] = total
        quality = float(min(1.0, face_frac * (0.5 + 0.5 * min(1.0, max(p_left, p_right) / strong))))

        reached = _reached(p_left, p_right)
        # the artefact test was exercised when the head turned as asked (both sides; the order only
        # matters for passing, against replayed clips); without a prompt, a turn to either side
        exercised = (p_left >= min_yaw and p_right >= min_yaw) if prompt is not None else turned_any
        m["exercised"] = bool(exercised)
        if exercised and total >= FAIL_LLR:
            return result(FAILED, min(5.0, max(3.0, total)), max(quality, 0.5),
                          [f"the head turned {reached}"] + (reasons_fake or ["several swap artefacts appeared"]))
        if not turned_any:
            if max(p_left, p_right) < FRONTAL_YAW:
                msg = f"the face stayed frontal (at most {math.floor(max(p_left, p_right, 0))}°): ask again"
            else:
                msg = f"the candidate did not turn past {min_yaw:.0f}° ({reached}): ask again"
            return result(INCONCLUSIVE, 0.0, quality * 0.5, [msg])
        if not compliant:
            if not order_ok:
                msg = (f"the candidate turned to the {prompt.second} first although asked to turn to the "
                       f"{prompt.first} first: ask again")
            else:
                low = [s for s, p in ((LEFT, p_left), (RIGHT, p_right)) if p < min_yaw]
                msg = f"the candidate did not turn past {min_yaw:.0f}° to the {' or '.join(low)} ({reached}): ask again"
            return result(INCONCLUSIVE, 0.0, quality * 0.5, [msg])
        # a pass means no artefact at all: motion in steps beyond what smooth motion gives (ratio ≥ 1 while
        # genuine turns stay well below it) is not evidence enough to fail, but it is not a pass either
        steppy = math.isfinite(st["ratio"]) and st["ratio"] >= STEPPY_RATIO
        if steppy and st["ratio"] < 1.3:
            reasons_fake.append("the face moved slightly in steps rather than smoothly with the head")
        if total <= PASS_LLR and not steppy:
            need = min(p_left, p_right) if prompt is not None else max(p_left, p_right)
            if need >= strong:
                return result(PASSED, -2.0, quality, [f"the head turned {reached} and the face stayed consistent"])
            return result(PASSED, -1.0, quality,
                          [f"the head turned {reached} and the face stayed consistent",
                           f"swaps break down mostly beyond {strong:.0f}°: a fuller turn makes a stronger check"])
        return result(INCONCLUSIVE, 0.0, quality * 0.5,
                      ["some measurements were unusual but not conclusive: ask again"] + reasons_fake[:1])


def _reached(p_left: float, p_right: float) -> str:
    parts = []                    # rounded down, so "24°" never reads as reaching a 25° threshold
    if p_left > 0:
        parts.append(f"{math.floor(p_left)}° to the left")
    if p_right > 0:
        parts.append(f"{math.floor(p_right)}° to the right")
    return " and ".join(parts) if parts else "not at all"


def _flashes(window: list[FrameRec], cut: np.ndarray, dt_s: float) -> list[tuple[int, int]]:
    """Identity flashes on the face (``signals.appearance_flashes``; the mouth is left out)."""
    shp = (geo.CROP, geo.CROP)
    grays, masks = [], []
    for r in window:
        if r.face is None or r.crop is None or r.m is None:
            grays.append(None)
            masks.append(None)
            continue
        fa = geo.apply(r.m, r.face)
        reg = geo.poly_mask(fa[list(geo.FACE_OVAL)], shp)
        reg &= ~_dilate(geo.poly_mask(fa[list(geo.LIPS_OUTER)], shp), 9)
        grays.append(_gray(r.crop))
        masks.append(reg)
    max_len = max(1, int(round(FLASH_MAX_S / max(dt_s, 1e-3))))
    runs, _ = sig.appearance_flashes(window, grays, masks, cut, max_len)
    return runs


def _dropouts(window: list[FrameRec]) -> int:
    """Frames without a face, between faces seen within ±DROPOUT_MAX_YAW."""
    n = 0
    last_ok = None
    pending = 0
    for r in window:
        if r.has_face:
            if last_ok is not None and pending and abs(r.yaw) <= DROPOUT_MAX_YAW and abs(last_ok) <= DROPOUT_MAX_YAW:
                n += pending
            pending = 0
            last_ok = r.yaw
        elif last_ok is not None:
            pending += 1
    return n


def _profile_mismatch(window: list[FrameRec]) -> tuple[float, float]:
    """(Δ log sharpness ratio, Δ colour distance) face vs surroundings, turned minus frontal."""
    faces = [r for r in window if r.has_face]
    if len(faces) < 6:
        return float("nan"), float("nan")
    ay = np.array([abs(r.yaw) for r in faces])
    pk = float(ay.max())
    front = [r for r, a in zip(faces, ay) if a < FRONTAL_YAW]
    turned = [r for r, a in zip(faces, ay) if a >= max(FRONTAL_YAW + 8, 0.8 * pk)]
    if len(front) < 3 or len(turned) < 3:
        return float("nan"), float("nan")

    def ratio(rs: list[FrameRec]) -> tuple[float, float]:
        vals, cols = [], []
        for r in rs:
            # the near side's temple/ear (the far one shows background when turned)
            near = OUT_P[0] if r.yaw > 0 else OUT_P[1]
            outs = [near, OUT_P[2]]
            d_in = np.nanmedian(r.patch_detail[IN_P])
            d_out = np.nanmedian(r.patch_detail[outs])
            if np.isfinite(d_in) and np.isfinite(d_out):
                vals.append(d_in - d_out)
            li = np.nanmean(r.patch_lab[IN_P], axis=0)
            lo = np.nanmean(r.patch_lab[outs], axis=0)
            if np.isfinite(li).all() and np.isfinite(lo).all():
                cols.append(float(np.linalg.norm(li - lo)))
        return (float(np.median(vals)) if vals else float("nan"), float(np.median(cols)) if cols else float("nan"))

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sf, cf = ratio(front)
        stn, ctn = ratio(turned)
    return stn - sf, ctn - cf

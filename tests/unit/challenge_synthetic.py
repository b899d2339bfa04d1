"""Constructed observations for the challenge tests (no mediapipe): the astronaut portrait with its
real face mesh, a hand given by 21 landmarks and drawn (or not) in front of the face."""

from __future__ import annotations

import math

import cv2
import numpy as np

from interview_guard.challenges import geometry as geo
from interview_guard.core.types import NS_PER_S, FaceObs, HandObs, HeadPose, Observation, VideoFrame
from tests.unit.synthetic import astronaut, face_mesh, make_face

# An open right hand, fingers up, in palm lengths (x right, y up), wrist at the origin.
_HAND = np.array([
    (0.0, 0.0), (-0.35, 0.15), (-0.6, 0.35), (-0.8, 0.55), (-0.95, 0.75),
    (-0.32, 0.95), (-0.36, 1.3), (-0.38, 1.55), (-0.4, 1.75),
    (-0.06, 1.0), (-0.06, 1.4), (-0.06, 1.65), (-0.06, 1.9),
    (0.2, 0.95), (0.22, 1.3), (0.24, 1.55), (0.26, 1.75),
    (0.42, 0.85), (0.48, 1.1), (0.52, 1.3), (0.55, 1.45)], np.float64)


def hand_landmarks(palm_centre: tuple[float, float], palm_px: float, angle_deg: float = 0.0) -> np.ndarray:
    """(21, 3) float32 image px: the canonical hand with its palm centre at ``palm_centre``."""
    pts = _HAND.copy()
    pts[:, 1] = -pts[:, 1]                          # image y points down
    pc = pts[[0, 5, 9, 13, 17]].mean(0)
    a = math.radians(angle_deg)
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    p = (pts - pc) @ r.T * palm_px + np.asarray(palm_centre)
    return np.hstack([p, np.zeros((21, 1))]).astype(np.float32)


def draw_hand(img: np.ndarray, hand: np.ndarray, rng: np.random.Generator, *, only_outside: np.ndarray | None = None,
              colour=(214, 160, 135)) -> np.ndarray:
    """Paint a skin-coloured hand (texture + finger creases). ``only_outside``: a bool mask where the
    hand is *not* drawn (a face swap painting the face back over the hand)."""
    h, w = img.shape[:2]
    m = geo.hand_shape_mask(hand[:, :2], (h, w))
    m = cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if only_outside is not None:
        m &= ~only_outside
    out = img.copy()
    skin = np.array(colour, np.float32)[None, :] + rng.normal(0, 6, (int(m.sum()), 3)).astype(np.float32)
    out[m] = np.clip(skin, 0, 255).astype(np.uint8)
    pl = geo.palm_length(hand[:, :2])
    for chain in geo.FINGERS:
        for a, b in zip(chain[1:-1], chain[2:]):
            c = tuple(int(v) for v in hand[a, :2])
            if only_outside is not None and only_outside[min(h - 1, max(0, c[1])), min(w - 1, max(0, c[0]))]:
                continue
            cv2.circle(out, c, max(1, int(0.04 * pl)), (170, 120, 100), -1)
    return out


SCALE = 0.5          # a 256-px portrait (IOD ≈ 30 px) keeps the tests quick


def _portrait(scale: float = SCALE) -> tuple[np.ndarray, np.ndarray]:
    base = astronaut()
    mesh = face_mesh().copy()
    if scale != 1.0:
        h, w = base.shape[:2]
        base = cv2.resize(base, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        mesh[:, :2] *= scale
    return np.ascontiguousarray(base), mesh


def face_oval_mask(lm: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    return geo.poly_mask(lm[list(geo.FACE_OVAL), :2], shape)


def hand_obs(hand: np.ndarray, face: FaceObs | None, shape: tuple[int, int]) -> HandObs:
    from interview_guard.perception.face_geometry import bbox_of
    from interview_guard.perception.landmarks import _overlap

    hb = bbox_of(hand, shape[1], shape[0])
    return HandObs(landmarks=hand, bbox=hb, face_overlap=_overlap(hb, face.bbox if face else None))


def wave_observations(*, painted: bool = False, vanish: bool = False, hand: bool = True, fps: float = 10.0,
                      baseline_s: float = 2.0, window_s: float = 4.0, passes: int = 2, first_dx: int = -1,
                      height: str = "eyes", seed: int = 0, t0_s: float = 0.0,
                      fallback: bool = False, scale: float = SCALE, pass_s: float = 2.0) -> list[Observation]:
    """Baseline (no hand) then a window where a hand passes ``passes`` times across the face.

    ``painted``: inside the face oval the hand is not drawn (the face shows through it, as a
    maskless swap paints it). ``vanish``: the hand's landmarks are missing while it is inside the
    face (a hand tracker losing a painted-over hand). ``first_dx``: image-x direction of the first pass.
    ``fallback``: while the hand is inside the face the swap "drops out": another-looking face
    shows under a real hand (drawn in front), then the usual face comes back (A→B→A).
    ``scale``: of the 512-px portrait (0.5: IOD ≈ 30 px). ``pass_s``: seconds per pass (2 s: slow,
    ≈ 0.2 palm lengths per frame at 10 fps).
    """
    rng = np.random.default_rng(seed)
    base, mesh = _portrait(scale)
    shape = base.shape[:2]
    oval = face_oval_mask(mesh, shape)
    nose = mesh[1, :2].astype(np.float64)
    fw = float(np.linalg.norm(mesh[234, :2] - mesh[454, :2]))
    iod = geo.iod(mesh)
    palm = 1.1 * iod
    y = {"eyes": float(mesh[[33, 263], 1].mean()) + 0.45 * palm, "mouth": float(mesh[[61, 291], 1].mean())}[height]
    x_far = 0.5 * fw + 1.1 * palm
    n_base = int(round(baseline_s * fps))
    n_win = int(round(window_s * fps))
    out = []
    prev = None
    pass_len = max(3, int(round(pass_s * fps)))
    # the impostor's own face for the fallback: the same picture with its features moved (another face)
    other = np.roll(base, (int(round(0.4 * iod)), int(round(0.25 * iod))), axis=(0, 1))
    soft = cv2.GaussianBlur(oval.astype(np.float32), (0, 0), 2.0)[..., None]
    for i in range(n_base + n_win):
        t = t0_s + i / fps
        img = base.copy()
        # a live camera never repeats a frame exactly
        img = np.clip(img.astype(np.int16) + rng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
        face = make_face(mesh, img)
        hands: tuple[HandObs, ...] = ()
        if hand and i >= n_base + 3:
            k = i - (n_base + 3)
            seg, u = divmod(k, pass_len + 2)
            if seg < passes:
                d = first_dx * (1 if seg % 2 == 0 else -1)
                u = min(1.0, u / pass_len)
                x = nose[0] - d * x_far + d * 2 * x_far * (0.5 - 0.5 * math.cos(math.pi * u))
                hl = hand_landmarks((x, y), palm, angle_deg=5.0)
                inside = float(geo.coverage(oval, geo.hand_hull_mask(hl[:, :2], shape))) > 0.10
                if fallback and inside:
                    img = np.clip(other * soft + img * (1 - soft) + 0.5, 0, 255).astype(np.uint8)
                img = draw_hand(img, hl, rng, only_outside=oval if painted else None)
                face = make_face(mesh, img)
                if not (vanish and inside):
                    hands = (hand_obs(hl, face, shape),)
        diff = -1.0 if prev is None else float(np.mean(np.abs(img.astype(np.int16) - prev.astype(np.int16))))
        out.append(Observation(frame=VideoFrame(t_ns=int(round(t * NS_PER_S)), index=i, image=img), faces=(face,),
                               hands=hands, hands_ran=True, frame_diff=diff))
        prev = img
    return out


def turn_observations(*, peak_deg: float = 40.0, first_sign: int = 1, both: bool = True, fps: float = 10.0,
                      baseline_s: float = 2.0, window_s: float = 6.0, stale: int = 0, seed: int = 0,
                      t0_s: float = 0.0, glitches: tuple[int, ...] = ()) -> list[Observation]:
    """Baseline frontal, then a head turn to ``first_sign``·peak and (``both``) to the other side.

    Only the pose and a sideways shift of the face move (the picture is the same portrait): the
    pose drives compliance, the shift drives the staircase measure. ``stale``: the face moves in
    steps of that many frames (a stale paste-back transform). ``glitches``: frame indices where the
    face tracker jumps to a face elsewhere in the picture for that one frame."""
    rng = np.random.default_rng(seed)
    base, mesh = _portrait()
    head_mask = cv2.dilate(face_oval_mask(mesh, base.shape[:2]).astype(np.uint8),
                           np.ones((15, 15), np.uint8)).astype(bool)
    n_base = int(round(baseline_s * fps))
    n_win = int(round(window_s * fps))
    out = []
    prev = None
    for i in range(n_base + n_win):
        t = i / fps
        u = max(0.0, (t - baseline_s) / window_s)
        if both:
            yaw = first_sign * peak_deg * math.sin(2 * math.pi * u) if u < 1 else 0.0
        else:
            yaw = first_sign * peak_deg * math.sin(math.pi * u) if u < 1 else 0.0
        j = i if not stale else (i // stale) * stale
        tj = j / fps
        uj = max(0.0, (tj - baseline_s) / window_s)
        shift_src = (first_sign * math.sin(2 * math.pi * uj) if both else first_sign * math.sin(math.pi * uj)) \
            if uj < 1 else 0.0
        dx = int(round(40 * SCALE * shift_src))
        # only the head moves (the room behind it stays put)
        img = base.copy()
        head = np.roll(head_mask, dx, axis=1)
        img[head] = np.roll(base, dx, axis=1)[head]
        img = np.clip(img.astype(np.int16) + rng.integers(-2, 3, img.shape), 0, 255).astype(np.uint8)
        lm = mesh.copy()
        lm[:, 0] += dx
        if i in glitches:
            lm[:, 0] += 2.5 * geo.iod(lm[:, :2])
        face = make_face(lm, img, yaw=yaw, pitch=0.0)
        diff = -1.0 if prev is None else float(np.mean(np.abs(img.astype(np.int16) - prev.astype(np.int16))))
        out.append(Observation(frame=VideoFrame(t_ns=int(round((t0_s + t) * NS_PER_S)), index=i, image=img),
                               faces=(face,), hands=(), hands_ran=True, frame_diff=diff))
        prev = img
    return out


__all__ = ["hand_landmarks", "draw_hand", "wave_observations", "turn_observations", "HeadPose"]

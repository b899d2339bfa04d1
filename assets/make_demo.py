"""Build the embedded demo recording ``assets/demo_interview.mp4``.

The clip imitates a 24 s video-call recording of a candidate answering an
interview question.  Everything in it is synthetic or public domain:

* the face is NASA's portrait of astronaut Eileen Collins shipped with
  scikit-image as ``skimage.data.astronaut()`` (public domain, see
  ``assets/README.md``), cut out of its studio backdrop with GrabCut and
  composited onto a generated "room";
* the voice is rendered by ``espeak-ng`` from the text in ``UTTERANCES``.

A scripted timeline (``TIMELINE``) exercises the face presence / quality
checks: defocus blur, the candidate leaving the frame, a frozen camera and a
tiny gallery-tile face.  The same list is written to
``assets/demo_interview.json``.

Run from the repository root::

    .venv/bin/python assets/make_demo.py            # build + verify
    .venv/bin/python assets/make_demo.py --verify-only

The output is deterministic for a given seed, espeak-ng version and
x264 build (byte-identical files are not promised across versions).

Conventions used throughout: images are ``(H, W, C)`` arrays in RGB order;
float images are in ``[0, 1]``; pixel coordinates are ``(x, y)`` with the
origin at the top-left; times are seconds from the clip start.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skimage.data
import soundfile
from scipy.signal import resample_poly

# --------------------------------------------------------------------------
# Clip parameters
# --------------------------------------------------------------------------
WIDTH, HEIGHT = 1280, 720
FPS = 30
DURATION_S = 24.0
N_FRAMES = int(round(DURATION_S * FPS))
AUDIO_RATE = 48_000
AUDIO_BITRATE = 64_000
VIDEO_CRF = 28
FREEZE_QP = 18  # x264 QP of the first frozen frame, see encode()
DEFAULT_SEED = 20_240_611

ASSETS_DIR = Path(__file__).resolve().parent
DEFAULT_MP4 = ASSETS_DIR / "demo_interview.mp4"
DEFAULT_JSON = ASSETS_DIR / "demo_interview.json"
DEFAULT_MODEL = Path("/work/shared/models/face_landmarker.task")
MAX_MP4_BYTES = 3 * 1024 * 1024

# Face geometry in the 512x512 astronaut image, measured once with the
# MediaPipe face landmarker (landmarks 10/152 = forehead/chin, 13/14 = inner
# lips, 61/291 = mouth corners).  Units: source pixels.
SRC_FACE_CENTER = (224.0, 125.0)
SRC_FACE_HEIGHT = 105.6
SRC_LIP_SEAM = (223.0, 149.0)  # upper teeth edge / lower inner lip (14)
SRC_MOUTH_HALF_WIDTH = 21.0  # corners (61/291) at x = 202 / 245
SRC_CHIN_Y = 177.4
SRC_CROP_ROWS = 340  # keep head, neck ring and upper chest; drop the helmet prop

# Placement of the portrait in the 1280x720 camera frame.
PORTRAIT_SCALE = 2.6  # -> face landmark height ~275 px
FACE_ANCHOR = (640.0, 318.0)  # output pixel where SRC_FACE_CENTER lands

# Timeline.  "normal" segments are the ones where a face must be found.
TIMELINE: list[dict] = [
    {"start_s": 0.0, "end_s": 8.0, "what": "normal"},
    {"start_s": 8.0, "end_s": 10.0, "what": "blur"},
    {"start_s": 10.0, "end_s": 11.0, "what": "normal"},
    {"start_s": 11.0, "end_s": 11.35, "what": "leaving"},
    {"start_s": 11.35, "end_s": 12.65, "what": "absent"},
    {"start_s": 12.65, "end_s": 13.0, "what": "returning"},
    {"start_s": 13.0, "end_s": 14.0, "what": "normal"},
    {"start_s": 14.0, "end_s": 16.0, "what": "frozen"},
    {"start_s": 16.0, "end_s": 17.0, "what": "normal"},
    {"start_s": 17.0, "end_s": 19.0, "what": "small_face"},
    {"start_s": 19.0, "end_s": DURATION_S, "what": "normal"},
]
BLUR_SIGMA_PX = 8.0
SMALL_FACE_TARGET_PX = 60.0
LEAVE_OFFSET_PX = 1300.0  # horizontal slide that takes the whole person out

# Speech: (start time s, latest end time s, text).  Silent while "absent".
UTTERANCES: list[tuple[float, float, str]] = [
    (0.6, 7.9, "Thanks for having me. I have worked as a backend engineer "
               "for six years, mostly on payment systems and data pipelines."),
    (8.2, 10.9, "Before that, two years in site reliability."),
    (13.1, 16.9, "Sorry about that, someone was at the door. Where was I?"),
    (17.2, 23.4, "Right. In my current role I lead a team of four, and I "
                 "designed the service that handles our billing events."),
]
ESPEAK_VOICE = "en-us+f3"
ESPEAK_WPM = 150
ESPEAK_RATE = 22_050


@dataclass
class Portrait:
    """Cut-out candidate image in source (astronaut) pixel coordinates.

    premult: (h, w, 4) float32, RGB premultiplied by alpha, then alpha.
    mouth_roi: (x0, y0, x1, y1) integer box where the mouth warp applies.
    mouth_dy: (y1-y0, x1-x0) float32, downward displacement in source px at
        full mouth opening.
    mouth_shade: same shape, darkening factor in [0, 1] at full opening.
    """

    premult: np.ndarray
    mouth_roi: tuple[int, int, int, int]
    mouth_dy: np.ndarray
    mouth_shade: np.ndarray


# --------------------------------------------------------------------------
# Timeline helpers
# --------------------------------------------------------------------------
def segment_at(t: float) -> dict:
    """Return the TIMELINE entry containing time ``t`` (seconds)."""
    for seg in TIMELINE:
        if seg["start_s"] <= t < seg["end_s"]:
            return seg
    return TIMELINE[-1]


def smoothstep(u: float) -> float:
    """Cubic ease 0->1 for ``u`` in [0, 1] (clipped outside)."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


def leave_offset(t: float) -> float:
    """Horizontal offset (output px, +right) of the candidate at time ``t``."""
    seg = segment_at(t)
    span = seg["end_s"] - seg["start_s"]
    if seg["what"] == "leaving":
        return LEAVE_OFFSET_PX * smoothstep((t - seg["start_s"]) / span)
    if seg["what"] == "absent":
        return LEAVE_OFFSET_PX
    if seg["what"] == "returning":
        return LEAVE_OFFSET_PX * (1.0 - smoothstep((t - seg["start_s"]) / span))
    return 0.0


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------
def espeak_to_array(text: str, wpm: int, workdir: Path) -> np.ndarray:
    """Render ``text`` with espeak-ng; return (n,) float32 mono at 22.05 kHz."""
    wav = workdir / "utt.wav"
    subprocess.run(
        ["espeak-ng", "-v", ESPEAK_VOICE, "-s", str(wpm), "-w", str(wav), text],
        check=True,
    )
    audio, rate = soundfile.read(wav, dtype="float32")
    if rate != ESPEAK_RATE:
        raise RuntimeError(f"espeak-ng wrote {rate} Hz, expected {ESPEAK_RATE}")
    return trim_silence(audio)


def trim_silence(audio: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    """Drop leading/trailing samples of (n,) ``audio`` below ``threshold``."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    if loud.size == 0:
        return audio[:0]
    return audio[loud[0]: loud[-1] + 1]


def synthesize_utterance(text: str, max_s: float,
                         workdir: Path) -> tuple[np.ndarray, int]:
    """Speech for ``text`` no longer than ``max_s`` seconds.

    Speaks at ESPEAK_WPM and, if that is too long, re-renders faster.
    Returns ((n,) float32 mono at AUDIO_RATE, words per minute used).
    """
    wpm = ESPEAK_WPM
    audio = espeak_to_array(text, wpm, workdir)
    for _ in range(4):
        if audio.size / ESPEAK_RATE <= max_s:
            break
        wpm = int(np.ceil(wpm * audio.size / ESPEAK_RATE / max_s)) + 2
        audio = espeak_to_array(text, wpm, workdir)
    up, down = AUDIO_RATE // 50, ESPEAK_RATE // 50  # 960 / 441
    return resample_poly(audio, up, down).astype(np.float32), wpm


def build_soundtrack(rng: np.random.Generator) -> np.ndarray:
    """Place all UTTERANCES on the timeline over faint room tone.

    Returns (DURATION_S * AUDIO_RATE,) float32 mono, peak about -3 dBFS.
    """
    track = np.zeros(int(DURATION_S * AUDIO_RATE), np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        for start, end, text in UTTERANCES:
            speech, wpm = synthesize_utterance(text, end - start, Path(tmp))
            i0 = int(start * AUDIO_RATE)
            print(f"speech {start:5.2f}-{start + speech.size / AUDIO_RATE:5.2f} s"
                  f" at {wpm} wpm: {text}")
            track[i0: i0 + speech.size] += speech[: track.size - i0]
    track *= 0.7 / max(float(np.abs(track).max()), 1e-6)
    hiss = rng.standard_normal(track.size).astype(np.float32)
    hiss = np.convolve(hiss, np.ones(8, np.float32) / 8.0, mode="same")
    track += 10 ** (-62 / 20) * hiss / hiss.std()
    return np.clip(track, -1.0, 1.0)


def mouth_openness(track: np.ndarray) -> np.ndarray:
    """Per-video-frame mouth opening in [0, 1] from the speech RMS envelope.

    track: (n,) float32 at AUDIO_RATE.  Returns (N_FRAMES,) float32.
    Attack is fast and release slow, like a jaw following syllables.
    """
    hop = AUDIO_RATE // FPS
    frames = track[: N_FRAMES * hop].reshape(N_FRAMES, hop)
    rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))
    level = np.clip(rms / (np.percentile(rms, 95) + 1e-9), 0.0, 1.0)
    level[rms < 10 ** (-45 / 20)] = 0.0  # room tone keeps the mouth closed
    out = np.zeros(N_FRAMES, np.float32)
    state = 0.0
    for i, x in enumerate(level):
        coef = 0.6 if x > state else 0.35
        state += coef * (x - state)
        out[i] = state
    return out


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------
def person_mask(rgb: np.ndarray) -> np.ndarray:
    """Soft alpha of the astronaut against her studio backdrop.

    rgb: (h, w, 3) uint8 crop of the astronaut image.  Returns (h, w)
    float32 alpha in [0, 1].  GrabCut is seeded with a hand-drawn prior
    (head, neck ring, chest = foreground; borders and the shuttle model =
    background); OpenCV's RNG is seeded so the cut is repeatable.
    """
    h, w = rgb.shape[:2]
    seeds = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    body = np.array([[165, 20], [285, 20], [300, 120], [310, 160], [370, 300],
                     [370, h], [10, h], [30, 260], [110, 160], [150, 120]])
    cv2.fillPoly(seeds, [body], cv2.GC_PR_FGD)
    cv2.ellipse(seeds, (224, 120), (38, 55), 0, 0, 360, cv2.GC_FGD, -1)
    cv2.ellipse(seeds, (208, 224), (80, 52), -8, 0, 360, cv2.GC_FGD, -1)
    cv2.rectangle(seeds, (90, 280), (330, h), cv2.GC_FGD, -1)
    cv2.rectangle(seeds, (360, 0), (w, 260), cv2.GC_BGD, -1)
    seeds[:, :6] = cv2.GC_BGD
    seeds[:, -6:] = cv2.GC_BGD
    seeds[:6, :] = cv2.GC_BGD
    cv2.setRNGSeed(0)
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(np.ascontiguousarray(rgb[:, :, ::-1]), seeds, None, bgd, fgd,
                8, cv2.GC_INIT_WITH_MASK)
    fg = np.isin(seeds, [cv2.GC_FGD, cv2.GC_PR_FGD]).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    fg = (labels == biggest).astype(np.uint8) * 255
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, kernel)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, kernel)
    return cv2.GaussianBlur(fg.astype(np.float32) / 255.0, (0, 0), 1.2)


def mouth_fields(shape: tuple[int, int]) -> tuple[tuple[int, int, int, int],
                                                   np.ndarray, np.ndarray]:
    """Precompute the jaw-drop warp around the lower lip.

    shape: (h, w) of the portrait.  Returns (roi, dy, shade): roi as
    (x0, y0, x1, y1); dy (roi_h, roi_w) float32 downward displacement in
    source px at full opening (max 3.5 px); shade (roi_h, roi_w) float32
    darkening in [0, 0.5] where the lip seam is stretched open.
    """
    cx, seam = SRC_LIP_SEAM
    x0, x1 = int(cx - 40), int(cx + 40)
    y0, y1 = int(seam - 16), min(int(SRC_CHIN_Y + 30), shape[0])
    xx, yy = np.meshgrid(np.arange(x0, x1, dtype=np.float32),
                         np.arange(y0, y1, dtype=np.float32))
    across = np.exp(-(((xx - cx) / SRC_MOUTH_HALF_WIDTH) ** 4))
    # the smile curves the lip line upwards towards the corners
    seam_y = seam - 3.5 * ((xx - cx) / SRC_MOUTH_HALF_WIDTH) ** 2
    rise = np.clip((yy - (seam_y - 3.0)) / 6.0, 0.0, 1.0)
    rise = rise * rise * (3.0 - 2.0 * rise)
    fall = np.clip((SRC_CHIN_Y + 22.0 - yy) / (SRC_CHIN_Y + 22.0 - seam - 3.0),
                   0.0, 1.0)
    dy = 3.5 * across * rise * fall
    inner = np.exp(-(((xx - cx) / (0.75 * SRC_MOUTH_HALF_WIDTH)) ** 4))
    shade = 0.5 * inner * np.exp(-(((yy - seam_y) / 1.6) ** 2))
    return (x0, y0, x1, y1), dy.astype(np.float32), shade.astype(np.float32)


def load_portrait() -> Portrait:
    """Cut the astronaut out of ``skimage.data.astronaut()`` (512x512x3)."""
    rgb = skimage.data.astronaut()[:SRC_CROP_ROWS]
    alpha = person_mask(rgb)
    premult = np.dstack([rgb.astype(np.float32) / 255.0 * alpha[..., None],
                         alpha]).astype(np.float32)
    roi, dy, shade = mouth_fields(alpha.shape)
    return Portrait(premult, roi, dy, shade)


def speak_frame(p: Portrait, openness: float) -> np.ndarray:
    """Portrait with the mouth opened by ``openness`` in [0, 1].

    Returns (h, w, 4) float32 premultiplied RGBA (a copy only of the ROI is
    modified; the rest is shared with ``p.premult``).
    """
    if openness <= 1e-3:
        return p.premult
    x0, y0, x1, y1 = p.mouth_roi
    out = p.premult.copy()
    h, w = p.mouth_dy.shape
    map_x = np.tile(np.arange(x0, x1, dtype=np.float32), (h, 1))
    map_y = np.arange(y0, y1, dtype=np.float32)[:, None] - openness * p.mouth_dy
    warped = cv2.remap(p.premult, map_x, map_y.astype(np.float32),
                       cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    dark = 1.0 - openness * p.mouth_shade
    warped[..., :3] *= dark[..., None]
    out[y0:y1, x0:x1] = warped
    return out


def make_room() -> np.ndarray:
    """Out-of-focus home-office background, (HEIGHT, WIDTH, 3) float32 RGB."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    wall_top = np.array([0.80, 0.77, 0.72], np.float32)
    wall_bot = np.array([0.62, 0.60, 0.57], np.float32)
    v = (yy / HEIGHT)[..., None]
    room = wall_top * (1 - v) + wall_bot * v
    window = np.exp(-(((xx - 80) / 420) ** 2 + ((yy - 200) / 380) ** 2))
    room += 0.12 * window[..., None] * np.array([1.0, 1.0, 0.95], np.float32)
    # a door frame on the left and a shelf with books on the right
    cv2.rectangle(room, (150, 60), (330, HEIGHT), (0.70, 0.66, 0.60), -1)
    cv2.rectangle(room, (165, 75), (315, HEIGHT), (0.76, 0.73, 0.68), -1)
    cv2.rectangle(room, (1010, 250), (1280, 268), (0.45, 0.33, 0.24), -1)
    book_colors = [(0.55, 0.20, 0.18), (0.20, 0.32, 0.50), (0.75, 0.62, 0.30),
                   (0.30, 0.45, 0.30), (0.50, 0.48, 0.46), (0.25, 0.25, 0.35)]
    x = 1030
    for i, width in enumerate([22, 16, 28, 18, 24, 20, 26, 14, 22]):
        top = 170 + (i * 37) % 45
        cv2.rectangle(room, (x, top), (x + width, 250),
                      book_colors[i % len(book_colors)], -1)
        x += width + 3
    cv2.rectangle(room, (0, 640), (WIDTH, HEIGHT), (0.50, 0.46, 0.42), -1)
    room = cv2.GaussianBlur(room, (0, 0), 7.0)
    vignette = 1.0 - 0.18 * (((xx - WIDTH / 2) / (WIDTH / 2)) ** 2
                             + ((yy - HEIGHT / 2) / (HEIGHT / 2)) ** 2) / 2
    return np.clip(room * vignette[..., None], 0.0, 1.0).astype(np.float32)


@dataclass
class Motion:
    """Slow head/camera motion as sums of sines with seeded phases."""

    freqs: np.ndarray  # (5, 2) Hz for tx, ty, rot, zoom, yaw
    phases: np.ndarray  # (5, 2) rad

    @classmethod
    def random(cls, rng: np.random.Generator) -> "Motion":
        freqs = rng.uniform(0.05, 0.22, size=(5, 2))
        return cls(freqs, rng.uniform(0, 2 * np.pi, size=(5, 2)))

    def _wave(self, k: int, t: float) -> float:
        """Value in about [-1, 1] for motion channel ``k`` at time ``t``."""
        f, ph = self.freqs[k], self.phases[k]
        return float(0.65 * np.sin(2 * np.pi * f[0] * t + ph[0])
                     + 0.35 * np.sin(2 * np.pi * f[1] * t + ph[1]))

    def pose(self, t: float) -> tuple[float, float, float, float, float]:
        """(tx px, ty px, roll deg, zoom factor, yaw deg) at time ``t``."""
        breathe = 1.5 * np.sin(2 * np.pi * 0.25 * t)
        return (14.0 * self._wave(0, t), 6.0 * self._wave(1, t) + breathe,
                1.6 * self._wave(2, t), 1.0 + 0.02 * self._wave(3, t),
                4.0 * self._wave(4, t))


def portrait_homography(tx: float, ty: float, roll_deg: float, zoom: float,
                        yaw_deg: float) -> np.ndarray:
    """3x3 map from source portrait px to output frame px.

    Scale by PORTRAIT_SCALE*zoom about the face centre, roll in-plane, fake a
    yaw of a few degrees with a perspective foreshortening (pinhole,
    focal = 1000 px), then move the face to FACE_ANCHOR + (tx, ty).
    """
    sx, sy = SRC_FACE_CENTER
    to_face = np.array([[1, 0, -sx], [0, 1, -sy], [0, 0, 1]], np.float64)
    s = PORTRAIT_SCALE * zoom
    scale = np.diag([s, s, 1.0])
    th = np.deg2rad(yaw_deg)
    yaw = np.array([[np.cos(th), 0, 0], [0, 1, 0], [np.sin(th) / 1000.0, 0, 1]])
    r = np.deg2rad(roll_deg)
    roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0],
                     [0, 0, 1]])
    ax, ay = FACE_ANCHOR
    place = np.array([[1, 0, ax + tx], [0, 1, ay + ty], [0, 0, 1]])
    return place @ roll @ yaw @ scale @ to_face


def composite(room: np.ndarray, layer: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Warp premultiplied RGBA ``layer`` with homography ``h`` over ``room``.

    room: (HEIGHT, WIDTH, 3) float32; layer: (h, w, 4) float32.
    Returns (HEIGHT, WIDTH, 3) float32.
    """
    warped = cv2.warpPerspective(layer, h, (WIDTH, HEIGHT), flags=cv2.INTER_CUBIC,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.clip(warped[..., 3:4], 0.0, 1.0)
    return warped[..., :3] + room * (1.0 - alpha)


def add_sensor_noise(img: np.ndarray, rng: np.random.Generator,
                     sigma: float = 2.0 / 255) -> np.ndarray:
    """Mild per-pixel Gaussian noise (luma-heavy); returns (H, W, 3) uint8."""
    luma = rng.standard_normal(img.shape[:2], dtype=np.float32)[..., None]
    chroma = rng.standard_normal(img.shape, dtype=np.float32)
    noisy = img + sigma * (0.8 * luma + 0.45 * chroma)
    return (np.clip(noisy, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def gallery_view(camera: np.ndarray) -> np.ndarray:
    """Shrink the camera frame into one tile of a 3x3 meeting gallery.

    camera: (HEIGHT, WIDTH, 3) uint8.  Returns the same shape, uint8.  The
    tile scale puts the face at about SMALL_FACE_TARGET_PX tall; the other
    tiles show initials avatars (no faces).
    """
    scale = SMALL_FACE_TARGET_PX / (SRC_FACE_HEIGHT * PORTRAIT_SCALE)
    tw, th = int(round(WIDTH * scale)), int(round(HEIGHT * scale))
    gap = 10
    canvas = np.full((HEIGHT, WIDTH, 3), (30, 32, 36), np.uint8)
    gx = (WIDTH - 3 * tw - 2 * gap) // 2
    gy = (HEIGHT - 3 * th - 2 * gap) // 2
    avatars = ["AK", "JD", "MR", "LS", "TP", "HW", "EB", "NC"]
    colors = [(86, 120, 180), (170, 96, 84), (92, 150, 110), (150, 120, 170),
              (180, 150, 80), (90, 140, 160), (160, 100, 140), (120, 120, 120)]
    k = 0
    for row in range(3):
        for col in range(3):
            x, y = gx + col * (tw + gap), gy + row * (th + gap)
            if (row, col) == (1, 0):
                tile = cv2.resize(camera, (tw, th), interpolation=cv2.INTER_AREA)
                canvas[y:y + th, x:x + tw] = tile
                label = "Candidate"
            else:
                canvas[y:y + th, x:x + tw] = (48, 50, 56)
                cv2.circle(canvas, (x + tw // 2, y + th // 2), th // 4,
                           colors[k], -1, cv2.LINE_AA)
                cv2.putText(canvas, avatars[k], (x + tw // 2 - 15, y + th // 2 + 8),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.7, (240, 240, 240), 2,
                            cv2.LINE_AA)
                label = f"Panel {k + 1}"
                k += 1
            cv2.putText(canvas, label, (x + 6, y + th - 8),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.45, (230, 230, 230), 1,
                        cv2.LINE_AA)
    return canvas


def render_frames(rng: np.random.Generator, openness: np.ndarray):
    """Yield (HEIGHT, WIDTH, 3) uint8 RGB frames, one per video frame.

    openness: (N_FRAMES,) mouth opening in [0, 1].
    """
    portrait = load_portrait()
    room = make_room()
    motion = Motion.random(rng)
    frozen: np.ndarray | None = None
    for i in range(N_FRAMES):
        t = i / FPS
        what = segment_at(t)["what"]
        if what == "frozen" and frozen is not None:
            yield frozen  # the very same bytes, no fresh noise
            continue
        tx, ty, roll, zoom, yaw = motion.pose(t)
        exposure = 1.0 + 0.015 * np.sin(2 * np.pi * 0.11 * t)
        layer = speak_frame(portrait, float(openness[i]))
        h = portrait_homography(tx + leave_offset(t), ty, roll, zoom, yaw)
        img = composite(room, layer, h) * exposure
        if what == "blur":
            img = cv2.GaussianBlur(img, (0, 0), BLUR_SIGMA_PX)
        frame = add_sensor_noise(img, rng)
        if what == "small_face":
            frame = gallery_view(frame)
        label_synthetic(frame)
        if what == "frozen":
            frozen = frame
        yield frame


def label_synthetic(frame: np.ndarray) -> None:
    """Burn a small, permanent caption into the bottom-left corner (in place), so the clip can
    never pass as a real statement by the person shown. (H, W, 3) uint8 RGB."""
    text = "SYNTHETIC DEMO - public-domain NASA photo, computer voice; not a real interview"
    org = (16, frame.shape[0] - 16)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 3, cv2.LINE_AA)
    cv2.putText(frame, text, org, cv2.FONT_HERSHEY_SIMPLEX, 0.55, (235, 235, 235), 1, cv2.LINE_AA)


# --------------------------------------------------------------------------
# Encoding
# --------------------------------------------------------------------------
def frozen_frame_indices() -> list[int]:
    """Video frame numbers that fall in a "frozen" TIMELINE segment."""
    return [i for i in range(N_FRAMES) if segment_at(i / FPS)["what"] == "frozen"]


def encode(path: Path, frames, track: np.ndarray) -> None:
    """Mux H.264 video (libx264 yuv420p) and mono AAC audio with PyAV.

    frames: iterable of (HEIGHT, WIDTH, 3) uint8 RGB; track: (n,) float32
    at AUDIO_RATE.

    Frozen frames stay byte-identical after decoding: the first one is coded
    at a low QP (an x264 zone) so there is nothing left to refine, and all of
    them are forced to be P-frames so each copies its predecessor as skip
    blocks instead of blending with a later, moving B-frame reference.
    """
    frozen = frozen_frame_indices()
    x264_params = f"zones={frozen[0]},{frozen[0]},q={FREEZE_QP}" if frozen else ""
    tmp = path.with_suffix(".tmp.mp4")
    with av.open(str(tmp), "w", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        vs.options = {"crf": str(VIDEO_CRF), "preset": "medium",
                      "tune": "film", "threads": "2"}
        if x264_params:
            vs.options["x264-params"] = x264_params
        aus = out.add_stream("aac", rate=AUDIO_RATE, layout="mono")
        aus.bit_rate = AUDIO_BITRATE
        frozen_set = set(frozen)
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts, vf.time_base = i, Fraction(1, FPS)
            if i in frozen_set:
                vf.pict_type = av.video.frame.PictureType.P
            out.mux(vs.encode(vf))
        out.mux(vs.encode())
        step = 1024
        for j in range(0, track.size, step):
            chunk = track[j: j + step][None, :]
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk),
                                            format="flt", layout="mono")
            af.sample_rate, af.pts = AUDIO_RATE, j
            af.time_base = Fraction(1, AUDIO_RATE)
            out.mux(aus.encode(af))
        out.mux(aus.encode())
    os.replace(tmp, path)


def write_timeline(path: Path) -> None:
    """Write TIMELINE as a JSON list of {start_s, end_s, what}."""
    path.write_text(json.dumps(TIMELINE, indent=2) + "\n")


# --------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------
def decode_summary(path: Path) -> dict:
    """Frame count, durations and audio facts of ``path`` decoded by PyAV."""
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        n_video = sum(1 for _ in c.decode(v))
    with av.open(str(path)) as c:
        a = c.streams.audio[0]
        n_samples = sum(f.samples for f in c.decode(a))
        return {
            "container_s": c.duration / av.time_base,
            "video_frames": n_video, "video_codec": v.codec_context.name,
            "width": v.codec_context.width, "height": v.codec_context.height,
            "fps": float(v.average_rate), "audio_codec": a.codec_context.name,
            "audio_rate": a.codec_context.sample_rate,
            "audio_channels": a.codec_context.channels,
            "audio_s": n_samples / a.codec_context.sample_rate,
        }


def face_scan(path: Path, model: Path, every: int = 3) -> list[dict]:
    """Run MediaPipe FaceLandmarker (VIDEO mode) on every ``every``-th frame.

    Returns one dict per sampled frame: t (s), found (bool), face_h (px,
    landmark bounding-box height, NaN if not found), mad (mean absolute
    difference in grey levels to the previous decoded frame) and same
    (decoded bytes identical to the previous frame).
    """
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    opts = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO, num_faces=1)
    rows, prev = [], None
    with vision.FaceLandmarker.create_from_options(opts) as lm, \
            av.open(str(path)) as c:
        for i, frame in enumerate(c.decode(c.streams.video[0])):
            rgb = frame.to_ndarray(format="rgb24")
            cur = rgb.astype(np.int16)
            mad = (float(np.abs(cur - prev).mean())
                   if prev is not None else float("nan"))
            same = prev is not None and bool(np.array_equal(cur, prev))
            prev = cur
            if i % every:
                continue
            image = mp.Image(image_format=mp.ImageFormat.SRGB,
                             data=np.ascontiguousarray(rgb))
            res = lm.detect_for_video(image, int(round(i * 1000 / FPS)))
            face_h = float("nan")
            if res.face_landmarks:
                ys = [p.y for p in res.face_landmarks[0]]
                face_h = (max(ys) - min(ys)) * HEIGHT
            rows.append({"t": i / FPS, "found": bool(res.face_landmarks),
                         "face_h": face_h, "mad": mad, "same": same})
    return rows


def verify(path: Path, model: Path) -> bool:
    """Print decode facts and per-segment face detection; return pass/fail."""
    size = path.stat().st_size
    info = decode_summary(path)
    print(f"{path.name}: {size / 1e6:.2f} MB ({size} bytes)")
    for k, v in info.items():
        print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
    ok = (size <= MAX_MP4_BYTES and info["video_frames"] == N_FRAMES
          and abs(info["container_s"] - DURATION_S) < 0.2
          and info["audio_s"] > DURATION_S - 0.2)
    if not model.exists():
        print(f"model {model} missing: face checks skipped")
        return ok
    rows = face_scan(path, model)
    print(f"\n{'segment':<12}{'start':>7}{'end':>7}{'n':>5}{'found':>8}"
          f"{'face_h med':>12}{'face_h min':>12}{'mean |dF|':>11}"
          f"{'identical':>11}")
    normal_found = normal_n = normal_big = 0
    for seg in TIMELINE:
        sel = [r for r in rows if seg["start_s"] <= r["t"] < seg["end_s"]]
        found = [r for r in sel if r["found"]]
        hs = np.array([r["face_h"] for r in found], float)
        mads = np.array([r["mad"] for r in sel if r["mad"] == r["mad"]], float)
        same = sum(r["same"] for r in sel) / max(len(sel), 1)
        med = f"{np.median(hs):.0f}" if hs.size else "-"
        low = f"{hs.min():.0f}" if hs.size else "-"
        print(f"{seg['what']:<12}{seg['start_s']:>7.2f}{seg['end_s']:>7.2f}"
              f"{len(sel):>5}{len(found) / max(len(sel), 1):>8.0%}"
              f"{med:>12}{low:>12}{mads.mean():>11.2f}{same:>11.0%}")
        if seg["what"] == "normal":
            normal_n += len(sel)
            normal_found += len(found)
            normal_big += int((hs >= 250).sum())
        if seg["what"] == "absent" and found:
            ok = False
        if (seg["what"] == "frozen") != (same >= 0.9):
            ok = False  # only the frozen segment repeats identical frames
    rate = normal_found / max(normal_n, 1)
    print(f"\nnormal segments: face found in {normal_found}/{normal_n} "
          f"sampled frames ({rate:.1%}); face >= 250 px in {normal_big}")
    return ok and rate >= 0.95 and normal_big >= 0.9 * normal_n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_MP4)
    ap.add_argument("--timeline", type=Path, default=DEFAULT_JSON)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL,
                    help="face_landmarker.task used by the verification")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--verify-only", action="store_true")
    args = ap.parse_args(argv)

    if not args.verify_only:
        if shutil.which("espeak-ng") is None:
            print("espeak-ng not found (apt-get install espeak-ng)", file=sys.stderr)
            return 2
        rng = np.random.default_rng(args.seed)
        audio_rng, video_rng = rng.spawn(2)
        track = build_soundtrack(audio_rng)
        encode(args.out, render_frames(video_rng, mouth_openness(track)), track)
        write_timeline(args.timeline)
        print(f"wrote {args.out} and {args.timeline}")
    if args.no_verify:
        return 0
    return 0 if verify(args.out, args.model) else 1


if __name__ == "__main__":
    sys.exit(main())

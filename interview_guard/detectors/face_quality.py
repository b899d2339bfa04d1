"""Face presence and quality: can the tool judge the candidate's face at all?

Conditions, each with a plain-language reason: no face, several faces, face too small,
face too blurred, face turned away, camera frozen (identical frames). These are *quality*
evidence (llr 0): they never say "fake", they say what the tool cannot see and what the
interviewer can ask for. A condition must hold for ``hold_s`` before it is reported, is
reported once when it starts and then every ``repeat_s`` while it lasts.
"""

from __future__ import annotations

from dataclasses import dataclass

from interview_guard.core.types import NS_PER_S, Evidence, Observation
from interview_guard.detectors.contract import Detector, Window
from interview_guard.detectors.registry import register


@dataclass(frozen=True)
class FaceQualityConfig:
    min_face_px: float = 60.0          # forehead-to-chin distance in px
    min_sharpness: float = 1.5         # face_geometry.sharpness units (var(Laplacian)/mean² × 100)
    max_yaw_deg: float = 50.0
    max_pitch_deg: float = 40.0
    second_face_ratio: float = 0.35    # a second face at least this fraction of the main face's size counts
    hold_s: float = 0.7
    frozen_hold_s: float = 1.5
    repeat_s: float = 10.0


_REASONS = {
    "no_face": "No face is visible, so the face checks are paused. Ask the candidate to sit in front of the camera.",
    "several_faces": "More than one face is visible ({n}); the checks follow the largest. "
                     "Ask whether someone else is in the room.",
    "face_small": "The face is too small to check ({px:.0f} px tall). Ask the candidate to move closer, "
                  "or enlarge their video tile (speaker view).",
    "face_blurred": "The face is too blurred to check (sharpness {sharp:.1f}). "
                    "Ask the candidate to refocus or improve the lighting.",
    "face_turned": "The face is turned away (yaw {yaw:+.0f}°, pitch {pitch:+.0f}°), so the checks are paused "
                   "until the candidate faces the camera.",
    "frozen": "The video has not changed for {secs:.1f} s: the camera or the call may be frozen. "
              "Ask the candidate to move or re-enable their camera.",
}


@register
class FaceQualityDetector(Detector):
    id = "face_quality"
    version = "1"
    modality = "video"
    needs = frozenset({"face"})
    kind = "quality"
    description = "Face presence and quality gate (no face, several faces, small, blurred, turned away, frozen)."

    def __init__(self, config: FaceQualityConfig | None = None) -> None:
        self.config = config or FaceQualityConfig()
        self.reset()

    def reset(self) -> None:
        self._since: dict[str, int] = {}       # condition -> t_ns it started
        self._last_report: dict[str, int] = {}  # condition -> t_ns last reported

    def conditions(self, obs: Observation) -> dict[str, dict]:
        """Which quality problems this frame shows, with their numbers."""
        c = self.config
        out: dict[str, dict] = {}
        if obs.frame_diff == 0.0:
            out["frozen"] = {}
        face = obs.face
        if face is None:
            out["no_face"] = {}
            return out
        big = [f for f in obs.faces if f.size_px >= c.second_face_ratio * face.size_px]
        if len(big) > 1:
            out["several_faces"] = {"n": len(big)}
        if face.size_px < c.min_face_px:
            out["face_small"] = {"px": face.size_px}
        elif face.sharpness < c.min_sharpness:
            out["face_blurred"] = {"sharp": face.sharpness}
        if abs(face.pose.yaw) > c.max_yaw_deg or abs(face.pose.pitch) > c.max_pitch_deg:
            out["face_turned"] = {"yaw": face.pose.yaw, "pitch": face.pose.pitch}
        return out

    def process(self, window: Window) -> Evidence | None:
        obs = window.observation
        if obs is None:
            return None
        t = window.t_ns
        active = self.conditions(obs)
        for name in list(self._since):
            if name not in active:
                del self._since[name]
                self._last_report.pop(name, None)
        best: Evidence | None = None
        for name, nums in active.items():
            start = self._since.setdefault(name, t)
            hold = self.config.frozen_hold_s if name == "frozen" else self.config.hold_s
            if t - start < hold * NS_PER_S:
                continue
            last = self._last_report.get(name)
            if last is not None and t - last < self.config.repeat_s * NS_PER_S:
                continue
            secs = (t - start) / NS_PER_S
            fmt = dict(nums, secs=secs)
            details = {k: float(v) for k, v in nums.items()}
            details["duration_s"] = secs
            ev = Evidence(detector=self.id, t_start_ns=start, t_end_ns=t, llr=0.0,
                          quality=0.0 if name in ("no_face", "frozen") else 0.3,
                          reason=_REASONS[name].format(**fmt), kind="quality", code=name, details=details)
            # one evidence per step: the most important condition wins
            if best is None or _PRIORITY[name] < _PRIORITY[best.code]:
                best = ev
        if best is not None:  # the others are reported on the next steps
            self._last_report[best.code] = t
        return best


_PRIORITY = {"frozen": 0, "no_face": 1, "several_faces": 2, "face_turned": 3, "face_small": 4, "face_blurred": 5}

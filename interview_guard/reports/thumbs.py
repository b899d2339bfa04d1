"""Thumbnails of the flagged moments, collected while the offline analysis runs.

``ThumbnailCollector`` is an ``on_step`` callback for ``run_lockstep``: it keeps a small ring of
recent frames (≤ 1 per second, 200 px wide JPEG, the last ``ring_s`` seconds) and, when a cue
fires, keeps the frames closest to the cue and to its evidence moments. It also keeps the
frames of the ``top_n`` riskiest 2-s hops. Memory stays bounded for hour-long files.
"""

from __future__ import annotations

import bisect
import collections
import heapq
from dataclasses import dataclass

import numpy as np

from interview_guard.core.types import NS_PER_S


OVERVIEW = 6


@dataclass(frozen=True)
class Thumb:
    t_ns: int
    jpeg: bytes
    caption: str = ""
    kind: str = "moment"     # cue | moment | risk | overview


def encode_jpeg(image: np.ndarray, width: int = 200, quality: int = 80) -> bytes:
    import cv2

    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, max(2, int(round(h * width / w)))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    return bytes(buf) if ok else b""


class ThumbnailCollector:
    def __init__(self, fusion=None, *, every_s: float = 1.0, ring_s: float = 120.0, top_n: int = 6,
                 width: int = 200, max_cue_thumbs: int = 24) -> None:
        self.fusion = fusion
        self.every_ns = int(every_s * NS_PER_S)
        self.ring_ns = int(ring_s * NS_PER_S)
        self.top_n = top_n
        self.width = width
        self.max_cue_thumbs = max_cue_thumbs
        self._ring: collections.deque[tuple[int, bytes]] = collections.deque()
        self._last_t: int | None = None
        self._n_points = 0
        self._top: list[tuple[float, int, bytes]] = []      # min-heap of (E, t, jpeg)
        self.cue_thumbs: list[Thumb] = []
        self._kept_t: set[int] = set()
        self.first_face_ns: int | None = None
        # overview: up to OVERVIEW frames spread over the whole recording (stride doubles when full)
        self._overview: list[tuple[int, bytes]] = []
        self._ov_stride = 1
        self._ov_count = 0

    def __call__(self, step) -> None:
        obs = step.observation
        t = obs.t_ns
        if self.first_face_ns is None and obs.face is not None:
            self.first_face_ns = t
        if self._last_t is None or t - self._last_t >= self.every_ns:
            self._last_t = t
            self._ring.append((t, encode_jpeg(obs.frame.image, self.width)))
            while self._ring and self._ring[0][0] < t - self.ring_ns:
                self._ring.popleft()
            if self._ov_count % self._ov_stride == 0:
                self._overview.append(self._ring[-1])
                if len(self._overview) > 2 * OVERVIEW:
                    self._overview = self._overview[::2]
                    self._ov_stride *= 2
            self._ov_count += 1
        f = self.fusion
        if f is not None and len(f.points) > self._n_points:
            for p in f.points[self._n_points:]:
                if p.E > 0 and (len(self._top) < self.top_n or p.E > self._top[0][0]):
                    near = self._nearest(p.t_ns - NS_PER_S)
                    if near is not None:
                        item = (float(p.E), near[0], near[1])
                        if len(self._top) < self.top_n:
                            heapq.heappush(self._top, item)
                        else:
                            heapq.heapreplace(self._top, item)
            self._n_points = len(f.points)
        for cue in getattr(step, "cues", ()):
            if cue.level.value not in ("amber", "red") or len(self.cue_thumbs) >= self.max_cue_thumbs:
                continue
            wanted = [(cue.t_ns, f"{cue.level.value}: {cue.headline}", "cue")]
            for m in cue.moments[:2]:
                wanted.append(((m.t_start_ns + m.t_end_ns) // 2, m.reason, "moment"))
            for tt, cap, kind in wanted:
                near = self._nearest(tt)
                if near is not None and near[0] not in self._kept_t:
                    self._kept_t.add(near[0])
                    self.cue_thumbs.append(Thumb(near[0], near[1], cap, kind))

    def _nearest(self, t_ns: int) -> tuple[int, bytes] | None:
        if not self._ring:
            return None
        ts = [x[0] for x in self._ring]
        i = bisect.bisect_left(ts, t_ns)
        cands = [j for j in (i - 1, i) if 0 <= j < len(ts)]
        j = min(cands, key=lambda k: abs(ts[k] - t_ns))
        return self._ring[j]

    def thumbs(self) -> list[Thumb]:
        """Cue thumbnails first, then the riskiest hops not already shown, in time order."""
        out = list(self.cue_thumbs)
        have = {t.t_ns for t in out}
        for e, t, jpg in sorted(self._top, key=lambda x: x[1]):
            if t not in have:
                out.append(Thumb(t, jpg, f"high-risk moment (evidence {e:+.1f})", "risk"))
                have.add(t)
        return sorted(out, key=lambda th: th.t_ns)

    def overview(self) -> list[Thumb]:
        """Frames spread over the recording ("what the tool saw"), also when nothing was flagged."""
        return pick_overview(self._overview)


def pick_overview(frames: list[tuple[int, bytes]], n: int = 0) -> list[Thumb]:
    n = n or OVERVIEW
    if not frames:
        return []
    idx = sorted({int(round(i * (len(frames) - 1) / max(1, n - 1))) for i in range(min(n, len(frames)))})
    return [Thumb(frames[i][0], frames[i][1], "overview", "overview") for i in idx]

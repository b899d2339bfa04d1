"""Cost of the audio detectors: real-time factor per detector on one core.

Feeds ``--seconds`` of real corpus speech (several speakers concatenated) in 0.1-s chunks, as the
loopback delivers it, to each audio / audio-visual detector separately, and measures the CPU time
of the feeding thread (``time.thread_time``: what one core spends, independent of other load on a
shared machine) and the wall time. ``lip_sync`` also gets 30-fps observations with a moving mouth.
onnxruntime runs with one intra-op thread. RTF = CPU seconds / audio seconds; the target is
≤ 0.05 for the voice model and ≤ 0.1 for all audio detectors together.

    python bench/bench_audio.py [--seconds 60] [--out bench/results/audio.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from interview_guard.core.types import NS_PER_S, AudioChunk, FaceObs, HeadPose, Observation, VideoFrame  # noqa: E402
from interview_guard.detectors import registry  # noqa: E402
from interview_guard.detectors.contract import Window  # noqa: E402

RATE = 16000
FILES = ["audio_real_speech/tortoise_ref_geralt_1.flac", "audio_real_speech/tortoise_ref_halle_1.flac",
         "audio_real_speech/pyannote_sample.flac", "audio_real_speech/tortoise_ref_weaver_2.flac"]


def corpus() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def speech(seconds: float) -> np.ndarray:
    from interview_guard.capture.recording import read_audio

    parts, total = [], 0
    while total < seconds * RATE:
        for f in FILES:
            x = read_audio(corpus() / f, RATE)
            parts.append(x)
            total += len(x)
    return np.concatenate(parts)[: int(seconds * RATE)]


def observations(seconds: float, fps: float = 30.0) -> list[Observation]:
    tiny = np.zeros((2, 2, 3), np.uint8)
    out = []
    for i in range(int(seconds * fps)):
        t = i / fps
        lm = np.zeros((478, 3), np.float32)
        lm[61, :2], lm[291, :2] = (100, 200), (160, 200)
        gap = 10 + 8 * np.sin(2 * np.pi * 4 * t)
        lm[13, :2], lm[14, :2] = (130, 200 - gap / 2), (130, 200 + gap / 2)
        face = FaceObs(lm, (80, 100, 180, 260), HeadPose(0, 0, 0), 200.0, 10.0)
        out.append(Observation(VideoFrame(int(t * NS_PER_S), i, tiny), (face,), (), False, 1.0))
    return out


def bench_one(det_id: str, x: np.ndarray, obs: list[Observation]) -> dict:
    det = registry.create(det_id)
    chunk = RATE // 10
    wins = [Window(t_ns=(k + len(x[k:k + chunk])) * NS_PER_S // RATE,
                   audio=AudioChunk(k * NS_PER_S // RATE, x[k:k + chunk], RATE)) for k in range(0, len(x), chunk)]
    if det.modality == "av":
        wins += [Window(t_ns=o.t_ns, observation=o) for o in obs]
        wins.sort(key=lambda w: (w.t_ns, w.audio is None))
    # warm-up (model loading, lazy imports, first-call allocations) is not part of the steady cost
    for w in wins[: len(wins) // 3]:
        det.process(w)
    det.reset()
    n_ev = 0
    c0, w0 = time.thread_time(), time.perf_counter()
    for w in wins:
        if det.process(w) is not None:
            n_ev += 1
    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
    secs = len(x) / RATE
    return {"detector": det_id, "modality": det.modality, "audio_s": round(secs, 1), "cpu_s": round(cpu, 3),
            "wall_s": round(wall, 3), "rtf_cpu": round(cpu / secs, 4), "rtf_wall": round(wall / secs, 4),
            "evidence": n_ev}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--smoke", action="store_true", help="20 s of audio")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "audio.json"))
    a = ap.parse_args()
    secs = 20.0 if a.smoke else a.seconds
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    except (AttributeError, OSError):
        pass
    x = speech(secs)
    obs = observations(secs)
    ids = []
    for i in registry.available():
        try:
            if registry.create(i).modality in ("audio", "av"):
                ids.append(i)
        except Exception as e:  # noqa: BLE001 - a video detector whose model is missing is not our business
            print(f"(skipped {i}: {type(e).__name__})", file=sys.stderr)
    rows = [bench_one(i, x, obs) for i in ids]
    total = {"rtf_cpu": round(sum(r["rtf_cpu"] for r in rows), 4), "rtf_wall": round(sum(r["rtf_wall"] for r in rows), 4)}
    for r in rows:
        print(f"{r['detector']:18s} {r['modality']:5s} RTF cpu {r['rtf_cpu']:.4f}  wall {r['rtf_wall']:.4f}  "
              f"({r['cpu_s']:.2f} s CPU for {r['audio_s']:.0f} s audio, {r['evidence']} evidence)")
    print(f"{'all audio/av':18s}       RTF cpu {total['rtf_cpu']:.4f}  wall {total['rtf_wall']:.4f}  (target ≤ 0.1)")
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"detectors": rows, "total": total, "threads": 1, "chunk_s": 0.1}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

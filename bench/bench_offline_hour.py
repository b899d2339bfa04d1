"""Offline analysis of a one-hour 720p30 interview: speed (× real time) and memory.

The "interview" is a 1280x720 30-fps corpus clip (``video_real/lp_source_s18.mp4``, 9.4 s)
looped to ``--minutes`` (default 60) **without re-encoding** (FFmpeg stream copy through PyAV,
so it is made in seconds and decodes like the original). It is then analysed exactly as
``interview-guard analyze FILE`` does (``reports.offline.analyze_with_report``: lockstep, every
registered detector, fusion, thumbnails, HTML report) at the default ``--sample-fps``.

Reported: wall time and × real time; CPU time (user + sys, all threads, parent + the worker
processes of the two-part analysis) and CPU-seconds per video-second (what the machine must
supply, nearly independent of other load) with the × real time two free cores would give;
peak RSS of the parent and of the largest worker; the level changes the fusion produced on this
genuine hour. On a shared machine the wall figure depends on the other jobs: compare it with
the load average printed alongside.

Run:  .venv/bin/python bench/bench_offline_hour.py [--minutes 60] [--work /tmp/ig_hour]
Writes bench/results/offline_hour.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS, analyze_with_report  # noqa: E402

CLIP = "video_real/lp_source_s18.mp4"


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def loop_copy(src: Path, dst: Path, seconds: float) -> Path:
    """``src`` repeated until ``seconds``, packets copied (no re-encode), timestamps shifted."""
    import av

    if dst.exists() and dst.stat().st_size > 0:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.stem + ".part.mp4")
    # per stream: the span of one pass in its own time base (last dts - first dts + one packet)
    span: dict[str, int] = {}
    first: dict[str, int] = {}
    with av.open(str(src)) as probe:
        streams = [probe.streams.video[0]] + list(probe.streams.audio[:1])
        last: dict[str, tuple[int, int]] = {}
        for pkt in probe.demux(*streams):
            if pkt.dts is None:
                continue
            k = pkt.stream.type
            first.setdefault(k, pkt.dts)
            last[k] = (pkt.dts, pkt.duration or 0)
        for k, (d, dur) in last.items():
            span[k] = d - first[k] + max(1, dur)
        vtb = probe.streams.video[0].time_base
        one_pass_s = float(span["video"] * vtb)
    out = av.open(str(tmp), "w", format="mp4")
    inp = av.open(str(src))
    vin = inp.streams.video[0]
    ain = inp.streams.audio[0] if inp.streams.audio else None
    vout = out.add_stream_from_template(vin)
    aout = out.add_stream_from_template(ain) if ain is not None else None
    inp.close()
    n_pass = int(seconds // one_pass_s) + (1 if seconds % one_pass_s > 1e-6 else 0)
    for i in range(n_pass):
        with av.open(str(src)) as inp:
            streams = [inp.streams.video[0]] + ([inp.streams.audio[0]] if aout is not None else [])
            for pkt in inp.demux(*streams):
                if pkt.dts is None:
                    continue
                k = pkt.stream.type
                shift = i * span[k]
                pkt.pts = None if pkt.pts is None else pkt.pts + shift
                pkt.dts = pkt.dts + shift
                pkt.stream = vout if k == "video" else aout
                out.mux(pkt)
    out.close()
    os.replace(tmp, dst)
    return dst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--sample-fps", type=float, default=DEFAULT_SAMPLE_FPS)
    ap.add_argument("--work", default="/tmp/ig_offline_hour")
    ap.add_argument("--workers", type=int, default=2, help="parallel parts (the analyze default: 2)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "offline_hour.json"))
    a = ap.parse_args(argv)
    work = Path(a.work)
    src = corpus_root() / CLIP
    t0 = time.perf_counter()
    video = loop_copy(src, work / f"interview_{int(a.minutes)}min_720p30.mp4", a.minutes * 60)
    print(f"looped {src.name} to {a.minutes:g} min in {time.perf_counter() - t0:.1f} s: {video} "
          f"({video.stat().st_size / 2**20:.0f} MB)", file=sys.stderr)
    load0 = os.getloadavg()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    w0 = time.perf_counter()
    last = [0.0]

    def progress(done, total):
        if done - last[0] >= 300:
            last[0] = done
            el = time.perf_counter() - w0
            print(f"  {done / 60:.0f}/{total / 60:.0f} min analysed, {done / el:.2f}x real time so far, "
                  f"RSS peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)

    res = analyze_with_report(video, work / "out", sample_fps=a.sample_fps, progress=progress, workers=a.workers)
    wall = time.perf_counter() - w0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)      # the worker processes (joined by now)
    cpu_self = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    cpu_children = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    cpu = cpu_self + cpu_children
    s = res.result.summary
    dur = float(s["duration_s"])
    out = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "video": f"{CLIP} looped to {a.minutes:g} min (1280x720, 30 fps)",
        "sample_fps": a.sample_fps, "duration_s": dur, "frames_decoded": s["frames_decoded"],
        "frames_analysed": s["frames_analysed"], "wall_s": round(wall, 1),
        "x_realtime_wall": round(dur / wall, 2), "cpu_s": round(cpu, 1),
        "cpu_s_parent": round(cpu_self, 1), "cpu_s_workers": round(cpu_children, 1),
        "cpu_s_per_video_s": round(cpu / dur, 4),
        "x_realtime_if_two_free_cores": round(2 * dur / cpu, 2) if res.result.summary.get("workers", 1) > 1
        else round(dur / cpu, 2),
        "workers": res.result.summary.get("workers", 1),
        "peak_rss_mb_parent": round(r1.ru_maxrss / 1024, 1),
        "peak_rss_mb_largest_worker": round(c1.ru_maxrss / 1024, 1),
        "load_avg_start": [round(x, 2) for x in load0], "load_avg_end": [round(x, 2) for x in os.getloadavg()],
        "cost_ms": s.get("cost_ms"), "max_level": s["max_level"],
        "level_changes": [(c["level"], c["t_s"]) for c in s.get("cues", [])],
        "detectors": [d["id"] for d in s.get("detectors", [])],
        "report": str(res.report_html), "report_bytes": res.report_html.stat().st_size if res.report_html else 0,
    }
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

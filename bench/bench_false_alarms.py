"""False alarms per hour of genuine footage, and time to the first cue on every corpus face swap.

What it does (issue 6):

1. Every ``video_real`` clip of the corpus, as is and re-encoded at call bitrates — H.264
   300 kbps (≤ 640 px wide), H.264 1 Mbps (≤ 960 px), VP8 500 kbps (≤ 640 px), audio AAC/Opus
   32 kbps — goes through the whole offline pipeline (perception + every registered detector,
   default ``--sample-fps``), evidence cached under ``--work``.
2. Each genuine run is **looped to an hour**: its evidence stream is replayed back to back
   (time-shifted) through one fusion session until ≥ ``--hours`` of footage, and amber and red
   escalations are counted. (Looping the evidence instead of the video keeps the clip's real
   evidence and avoids the artificial cut a looped video would show every few seconds; the
   detectors' own per-call baselines are therefore only exercised within one clip. The real
   one-hour looped video in ``bench_offline_hour.py`` reports its level changes too.)
3. Every ``video_fake_faceswap`` clip (and its re-encodings with ``--fake-variants``): seconds
   from the first frame with a face to the first amber/red cue (target ≤ 10 s).

Two calibrations are reported:

* ``shipped``: the table in ``--calibration`` (default models/calibration.json), fitted on this
  same corpus — in-sample, optimistic;
* ``cross-fitted`` (``--crossfit K``, default 5): for each of K folds of identity/source groups
  (see ``fusion.fit.clip_group``), calibration *and thresholds* are fitted on the other folds
  and applied to the held-out clips — the honest figure for unseen people and sources.

Run:  .venv/bin/python bench/bench_false_alarms.py --work /tmp/ig_fa [--workers 2]
Writes bench/results/false_alarms.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import defaultdict
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from interview_guard.core.types import NS_PER_S  # noqa: E402
from interview_guard.fusion import Calibration, FusionConfig, FusionEngine, Level  # noqa: E402
from interview_guard.fusion.fit import (ClipJob, ClipRun, clip_group, corpus_jobs, fit_all,  # noqa: E402
                                        run_clips)
from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS  # noqa: E402

VARIANTS = {
    "orig": None,
    "h264_300k": ("libx264", 300_000, 640, "mp4", "aac"),
    "h264_1M": ("libx264", 1_000_000, 960, "mp4", "aac"),
    "vp8_500k": ("libvpx", 500_000, 640, "webm", "libopus"),
}


def corpus_root() -> Path:
    return Path(os.environ.get("IG_CORPUS", REPO.parent / "shared" / "corpus")).resolve()


def reencode(src: Path, dst: Path, vcodec: str, bitrate: int, max_w: int, acodec: str) -> Path:
    """Re-encode ``src`` like a call would (bitrate-limited video, 32-kbps audio) with PyAV."""
    import av

    if dst.exists() and dst.stat().st_size > 0:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if inp.streams.audio else None
        w, h = vin.codec_context.width, vin.codec_context.height
        if w > max_w:
            h = int(round(h * max_w / w / 2) * 2)
            w = max_w
        w, h = w - w % 2, h - h % 2
        rate = vin.average_rate or Fraction(30, 1)
        out = av.open(str(tmp), "w", format="webm" if dst.suffix == ".webm" else "mp4")
        vs = out.add_stream(vcodec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.bit_rate = bitrate
        opts = {"preset": "veryfast", "maxrate": str(bitrate), "bufsize": str(2 * bitrate)} if vcodec == "libx264" \
            else {"deadline": "realtime", "cpu-used": "8", "maxrate": str(bitrate)}
        vs.options = opts
        aout = None
        if ain is not None:
            arate = 48000 if acodec == "libopus" else 44100
            aout = out.add_stream(acodec, rate=arate)
            aout.bit_rate = 32000
            aout.layout = "mono"
            resampler = av.AudioResampler(format=aout.codec_context.format.name if aout.codec_context.format else "fltp",
                                          layout="mono", rate=arate)
        streams = [vin] + ([ain] if ain is not None else [])
        n_video = 0
        vtb = Fraction(rate.denominator, rate.numerator)
        for packet in inp.demux(*streams):
            for frame in packet.decode():
                if packet.stream.type == "video":
                    frame = frame.reformat(width=w, height=h, format="yuv420p")
                    frame.pts = n_video          # constant frame rate, in 1/rate units
                    frame.time_base = vtb
                    n_video += 1
                    for p in vs.encode(frame):
                        out.mux(p)
                elif aout is not None:
                    frame.pts = None
                    for rf in resampler.resample(frame):
                        for p in aout.encode(rf):
                            out.mux(p)
        for p in vs.encode(None):
            out.mux(p)
        if aout is not None:
            for p in aout.encode(None):
                out.mux(p)
        out.close()
    os.replace(tmp, dst)
    return dst


def variant_jobs(jobs: list[ClipJob], variants: list[str], work: Path) -> list[ClipJob]:
    out = []
    for v in variants:
        for j in jobs:
            if v == "orig":
                out.append(replace(j, key=f"orig:{j.key}"))
                continue
            codec, br, mw, ext, ac = VARIANTS[v]
            dst = work / "variants" / v / (Path(j.path).stem + "." + ext)
            try:
                reencode(Path(j.path), dst, codec, br, mw, ac)
            except Exception as e:  # noqa: BLE001
                print(f"warning: cannot re-encode {j.path} as {v}: {e}", file=sys.stderr)
                continue
            out.append(replace(j, path=str(dst), key=f"{v}:{j.key}"))
    return out


def variant_of(run: ClipRun) -> str:
    return run.key.split(":", 1)[0]


def loop_events(cal: Calibration, run: ClipRun, hours: float, config: FusionConfig | None = None) -> dict:
    """Replay the clip's evidence back to back for ``hours``; escalations to amber / red."""
    dur = max(run.duration_s, 0.5)
    n = max(1, int(math.ceil(hours * 3600 / dur)))
    eng = FusionEngine(cal, config, versions=run.detectors, modalities=run.modalities)
    dur_ns = int(round(dur * NS_PER_S))
    evs = sorted(run.evidence, key=lambda e: e.t_end_ns)
    for k in range(n):
        off = k * dur_ns
        for e in evs:
            sh = replace(e, t_start_ns=e.t_start_ns + off, t_end_ns=e.t_end_ns + off)
            eng.advance(sh.t_end_ns)
            eng.add([sh])
        eng.advance(off + dur_ns)
    eng.finish(n * dur_ns)
    amber = sum(1 for c in eng.cues if c.level is Level.AMBER and c.previous in (Level.GREEN, Level.INCONCLUSIVE))
    red = sum(1 for c in eng.cues if c.level is Level.RED)
    return {"hours": n * dur / 3600, "amber": amber, "red": red,
            "usable_fraction": sum(p.usable for p in eng.points) / max(1, len(eng.points))}


def single_pass(cal: Calibration, run: ClipRun, config: FusionConfig | None = None) -> dict:
    eng = FusionEngine(cal, config, versions=run.detectors, modalities=run.modalities)
    cues = eng.replay(run.evidence, int(round(run.duration_s * NS_PER_S)))
    first = next((c for c in cues if c.level in (Level.AMBER, Level.RED)), None)
    t_face = run.first_face_s
    return {"max_level": eng.max_level.value,
            "first_cue_s": None if first is None else round(first.t_s, 2),
            "time_to_cue_s": None if first is None else round(max(0.0, first.t_s - (t_face or 0.0)), 2),
            "first_face_s": t_face, "duration_s": run.duration_s,
            "usable_fraction": round(sum(p.usable for p in eng.points) / max(1, len(eng.points)), 3)}


def evaluate(cal_for, genuine: list[ClipRun], fakes: list[ClipRun], hours: float) -> dict:
    """``cal_for(run) -> Calibration`` (shipped: constant; cross-fitted: the run's fold)."""
    per_variant: dict[str, dict] = defaultdict(lambda: {"hours": 0.0, "amber": 0, "red": 0, "clips": 0,
                                                        "clips_with_amber": [], "clips_with_red": []})
    for r in genuine:
        res = loop_events(cal_for(r), r, hours)
        v = per_variant[variant_of(r)]
        v["hours"] += res["hours"]
        v["amber"] += res["amber"]
        v["red"] += res["red"]
        v["clips"] += 1
        if res["amber"]:
            v["clips_with_amber"].append(r.key.split(":", 1)[1])
        if res["red"]:
            v["clips_with_red"].append(r.key.split(":", 1)[1])
    total = {"hours": sum(v["hours"] for v in per_variant.values()),
             "amber": sum(v["amber"] for v in per_variant.values()),
             "red": sum(v["red"] for v in per_variant.values())}
    for v in list(per_variant.values()) + [total]:
        v["amber_per_hour"] = round(v["amber"] / v["hours"], 3) if v["hours"] else None
        v["red_per_hour"] = round(v["red"] / v["hours"], 3) if v["hours"] else None
        v["hours"] = round(v["hours"], 2)
    fake_rows = {}
    for r in fakes:
        fake_rows[r.key] = single_pass(cal_for(r), r)
    by_var: dict[str, list] = defaultdict(list)
    for k, row in fake_rows.items():
        by_var[k.split(":", 1)[0]].append(row)
    fake_summary = {}
    for v, rows in by_var.items():
        ttc = [x["time_to_cue_s"] for x in rows if x["time_to_cue_s"] is not None]
        fake_summary[v] = {"clips": len(rows), "cued": len(ttc), "cued_within_10s": sum(1 for t in ttc if t <= 10.0),
                           "median_time_to_cue_s": round(float(np.median(ttc)), 2) if ttc else None,
                           "never_usable": sum(1 for x in rows if x["usable_fraction"] == 0)}
    gen_single = defaultdict(int)
    for r in genuine:
        if single_pass(cal_for(r), r)["first_cue_s"] is not None:
            gen_single[variant_of(r)] += 1
    return {"genuine_looped": dict(per_variant), "genuine_total": total,
            "genuine_clips_with_a_cue_single_pass": dict(gen_single),
            "fakes": fake_summary, "fake_clips": fake_rows}


def crossfit(runs: list[ClipRun], k: int, hours_boot: float, seed: int = 0) -> dict[str, Calibration]:
    """Calibration per held-out fold, fitted on the other folds (groups never split)."""
    groups = sorted({r.group for r in runs})
    rng = np.random.default_rng(seed)
    perm = list(rng.permutation(groups))
    folds = [set(perm[i::k]) for i in range(k)]
    out: dict[str, Calibration] = {}
    for i, fold in enumerate(folds):
        train = [r for r in runs if r.group not in fold]
        cal = fit_all(train, hours=hours_boot, seed=seed)
        print(f"  fold {i + 1}/{k}: {len(fold)} groups held out; h_amber={cal.fusion.get('h_amber')} "
              f"k={cal.fusion.get('k')}", file=sys.stderr)
        for r in runs:
            if r.group in fold:
                out[r.key] = cal
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default=str(corpus_root()))
    ap.add_argument("--work", default="/tmp/ig_false_alarms")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample-fps", type=float, default=DEFAULT_SAMPLE_FPS)
    ap.add_argument("--calibration", default=None, help="default: models/calibration.json")
    ap.add_argument("--variants", default="orig,h264_300k,h264_1M,vp8_500k")
    ap.add_argument("--fake-variants", action="store_true", help="also time the re-encoded swaps")
    ap.add_argument("--hours", type=float, default=1.0, help="loop each genuine clip to this many hours")
    ap.add_argument("--crossfit", type=int, default=5, help="folds for the cross-fitted figures (0: skip)")
    ap.add_argument("--bootstrap-hours", type=float, default=100.0)
    ap.add_argument("--limit", type=int, default=0, help="clips per label (quick runs)")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "false_alarms.json"))
    a = ap.parse_args(argv)
    work = Path(a.work)
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    t0 = time.perf_counter()
    base_g = corpus_jobs(a.corpus, ["video_real"], sample_fps=a.sample_fps, limit=a.limit)
    base_f = corpus_jobs(a.corpus, ["video_fake_faceswap"], sample_fps=a.sample_fps, limit=a.limit)
    print(f"re-encoding {len(base_g)} genuine + {len(base_f)} swap clips as {variants}…", file=sys.stderr)
    jobs = variant_jobs(base_g, variants, work) + variant_jobs(base_f, variants if a.fake_variants else ["orig"], work)
    print(f"analysing {len(jobs)} runs ({a.workers} workers; cached in {work / 'cache'})…", file=sys.stderr)

    def prog(i, n, r):
        if i % 25 == 0 or i == n:
            print(f"  {i}/{n} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)

    runs = run_clips(jobs, cache_dir=work / "cache", workers=a.workers, progress=prog)
    runs = [r for r in runs if r.status in ("ok", "partial")]
    genuine = [r for r in runs if r.label == "video_real"]
    fakes = [r for r in runs if r.label == "video_fake_faceswap"]
    shipped = Calibration.load(a.calibration)
    result = {"date": time.strftime("%Y-%m-%d %H:%M"), "sample_fps": a.sample_fps, "hours_per_clip": a.hours,
              "variants": variants, "calibration_file": shipped.path,
              "calibration_fitted_at": shipped.meta.get("fitted_at"), "fusion": shipped.fusion and {
                  k: shipped.fusion.get(k) for k in ("k", "h_amber", "h_red")},
              "detectors": sorted({d for r in runs for d in r.detectors}),
              "genuine_minutes_distinct": round(sum(r.duration_s for r in genuine) / 60, 1)}
    print("evaluating with the shipped calibration…", file=sys.stderr)
    result["shipped"] = evaluate(lambda r: shipped, genuine, fakes, a.hours)
    if a.crossfit:
        print(f"cross-fitting ({a.crossfit} folds by identity/source)…", file=sys.stderr)
        cals = crossfit(runs, a.crossfit, a.bootstrap_hours)
        result["cross_fitted"] = evaluate(lambda r: cals[r.key], genuine, fakes, a.hours)
    result["wall_s"] = round(time.perf_counter() - t0, 1)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    for name in ("shipped", "cross_fitted"):
        if name not in result:
            continue
        r = result[name]
        print(f"\n== {name} calibration ==")
        print(f"{'variant':<12}{'hours':>8}{'amber':>7}{'amber/h':>9}{'red':>5}{'red/h':>7}  clips with amber")
        for v, x in r["genuine_looped"].items():
            print(f"{v:<12}{x['hours']:>8.1f}{x['amber']:>7}{x['amber_per_hour']:>9.3f}{x['red']:>5}"
                  f"{x['red_per_hour']:>7.3f}  {', '.join(x['clips_with_amber'][:4])}"
                  f"{' …' if len(x['clips_with_amber']) > 4 else ''}")
        t = r["genuine_total"]
        print(f"{'all':<12}{t['hours']:>8.1f}{t['amber']:>7}{t['amber_per_hour']:>9.3f}{t['red']:>5}{t['red_per_hour']:>7.3f}")
        for v, f in r["fakes"].items():
            print(f"swaps ({v}): {f['cued_within_10s']}/{f['clips']} cued within 10 s of the face appearing; "
                  f"{f['cued']} cued at all; median {f['median_time_to_cue_s']} s; "
                  f"{f['never_usable']} never judgeable")
        print("per swap clip (time to first amber/red after the face appears):")
        for k, row in sorted(r["fake_clips"].items()):
            print(f"  {k:<62} {str(row['time_to_cue_s']) + ' s' if row['time_to_cue_s'] is not None else 'no cue':>8}"
                  f"  (clip {row['duration_s']:.1f} s, face at {row['first_face_s']}, judged "
                  f"{100 * row['usable_fraction']:.0f}% of hops, level {row['max_level']})")
    print(f"\nwrote {a.out} ({result['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

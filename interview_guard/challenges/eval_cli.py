"""``interview-guard eval-challenges``: build the seeded challenge test set from a corpus folder and score it.

    interview-guard eval-challenges --corpus DIR --out OUT [--limit N | --quick] [--seed 0]
                                    [--types hand_wave,head_turn] [--encodings h264_300k,...]

Writes ``OUT/challenges.json`` = ``{"<type>": {"<encoding>": {"swapped": {"failed", "passed",
"inconclusive"}, "genuine": {...}, "swapped_noncompliant": {...}, "genuine_noncompliant": {...}}}}``
("genuine"/"swapped" = performances that follow the prompt; the non-compliant ones are expected to
be inconclusive), ``OUT/cases.jsonl`` (one line per scored window, with its measurements and
recipe), ``OUT/summary.json`` (rates, the real gesturing clip, the head-turn readings on the real
swaps, timings) and prints the confusion table. Derived data (landmarks, hand sprites) is cached
in ``OUT/cache``. The scoring goes through the same ``ChallengeRunner`` and perception as a live
session (hands switched on for the baseline and the window).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

LABELS = ("swapped", "genuine", "swapped_noncompliant", "genuine_noncompliant")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True, help="folder with a MANIFEST.tsv")
    p.add_argument("--out", help="output folder (default: ~/.local/share/interview-guard/eval-challenges)")
    p.add_argument("--limit", type=int, default=0, help="use at most N host clips (seeded sample; 0 = all)")
    p.add_argument("--quick", action="store_true", help="CI-sized: 6 host clips, 2 encodings, no sanity extras")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--types", default="hand_wave,head_turn", help="challenge types to build (comma-separated)")
    p.add_argument("--encodings", help="comma-separated encodings (default: all; with --quick: "
                                       "h264_300k,vp8_1500k)")
    p.add_argument("--no-extras", action="store_true", help="skip the gesturing clip and the real-swap readings")
    p.add_argument("--cache", help="folder for derived data: landmarks, hand sprites (default: OUT/cache)")
    p.add_argument("--keep-records", action="store_true",
                   help="also pickle each window's per-frame records under OUT/records (for --rescore)")
    p.add_argument("--encodings-per-case", type=int, default=0,
                   help="encode each case at only N of the encodings, rotating through them (default: all; "
                        "the full set uses 2 to halve the run time)")
    p.add_argument("--rescore", action="store_true",
                   help="do not build anything: re-score the records kept in OUT/records by an earlier "
                        "--keep-records run with the current scorers, and rewrite OUT/challenges.json")
    p.add_argument("--quiet", action="store_true")


def run_eval_challenges(args: argparse.Namespace) -> int:
    from interview_guard.challenges import testset as ts
    from interview_guard.core.errors import ConfigError

    out = Path(args.out) if args.out else _default_out()
    out.mkdir(parents=True, exist_ok=True)
    kinds = tuple(k.strip() for k in args.types.split(",") if k.strip())
    for k in kinds:
        if k not in ("hand_wave", "head_turn"):
            raise ConfigError(f"unknown challenge type {k!r}")
    if args.encodings:
        encodings = tuple(e.strip() for e in args.encodings.split(",") if e.strip())
    else:
        encodings = ts.QUICK_ENCODINGS if args.quick else tuple(ts.ENCODINGS)
    for e in encodings:
        if e not in ts.ENCODINGS:
            raise ConfigError(f"unknown encoding {e!r} (known: {', '.join(ts.ENCODINGS)})")
    limit = args.limit or (6 if args.quick else 0)
    if args.rescore:
        table = rescore(out)
        print(format_table(table))
        print(f"results: {out / 'challenges.json'}, {out / 'cases_rescored.jsonl'}")
        return 0
    result = evaluate(Path(args.corpus), out, seed=args.seed, kinds=kinds, encodings=encodings, limit=limit,
                      extras=not (args.no_extras or args.quick), quiet=args.quiet,
                      cache=Path(args.cache) if args.cache else None, keep_records=args.keep_records,
                      per_case=args.encodings_per_case)
    print(format_table(result["table"]))
    print(f"results: {out / 'challenges.json'}, {out / 'cases.jsonl'}, {out / 'summary.json'}")
    return 0


def _default_out() -> Path:
    import os

    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
    return base / "interview-guard" / "eval-challenges"


# ---------------------------------------------------------------------------------------------


def score_frames(frames, fps: float, kind: str, prompt, window: tuple[float, float], *, perceiver=None,
                 records: list | None = None):
    """Run perception + a scheduled ``ChallengeRunner`` over in-memory frames; returns the
    ``ChallengeResult`` (the same path as ``analyze --challenge``). ``records``: a list that
    receives ``(baseline, window)`` FrameRecs (for re-scoring without perception)."""
    from interview_guard.challenges.runner import ChallengeRunner
    from interview_guard.core.types import NS_PER_S, VideoFrame
    from interview_guard.perception.landmarks import Perceiver

    own = perceiver is None
    p = perceiver or Perceiver()
    try:
        runner = ChallengeRunner(set_hands=lambda on: setattr(p, "hands_on_demand", bool(on)))
        runner.keep_records = records is not None
        end = min(window[1], (len(frames) - 1) / fps)          # scored at the last frame, not cut short
        runner.schedule(window[0], end, kind, prompt, baseline_s=min(2.0, window[0]))
        for i, img in enumerate(frames):
            obs = p.observe(VideoFrame(int(round(i / fps * NS_PER_S)), i, img))
            runner.observe(obs)
        runner.finish()
        if records is not None and runner.last_records is not None:
            records.append(runner.last_records)
        return runner.results[-1] if runner.results else None
    finally:
        if own:
            p.close()


def _new_perceiver():
    from interview_guard.perception.landmarks import Perceiver

    return Perceiver()


def evaluate(corpus: Path, out: Path, *, seed: int = 0, kinds=("hand_wave", "head_turn"), encodings=None,
             limit: int = 0, extras: bool = True, quiet: bool = False, log=None, cache: Path | None = None,
             keep_records: bool = False, per_case: int = 0) -> dict:
    import numpy as np

    from interview_guard.challenges import testset as ts
    from interview_guard.challenges.protocol import HAND_WAVE, HeadTurnPrompt, PromptGenerator
    from interview_guard.pipeline.outputs import atomic_write_json

    log = log or (lambda s: None if quiet else print(s, file=sys.stderr, flush=True))
    encodings = tuple(encodings or ts.ENCODINGS)
    cache = cache or out / "cache"
    src = ts.discover(corpus)
    tracker = ts.FaceTracker(cache)
    t0 = time.perf_counter()
    sprites, gesture = ts.build_sprites(src, cache)
    log(f"{len(sprites)} hand sprites from {len(src.hand_images)} images / {len(src.hand_videos)} videos")
    cases = ts.plan_cases(src, tracker, seed=seed, kinds=kinds, limit=limit)
    table: dict = {k: {e: {lab: {"failed": 0, "passed": 0, "inconclusive": 0} for lab in LABELS} for e in encodings}
                   for k in kinds}
    lines = []
    clip_cache: dict[Path, ts.Clip] = {}

    def clip(p: Path) -> ts.Clip:
        if p not in clip_cache:
            if len(clip_cache) > 3:
                clip_cache.pop(next(iter(clip_cache)))
            clip_cache[p] = ts.load_clip(p, tracker)
        return clip_cache[p]

    n_done = 0
    t_perception = 0.0
    n_frames = 0
    for ci, case in enumerate(cases):
        rng = np.random.default_rng([seed, case.seed])
        try:
            host = clip(case.host)
        except Exception as e:  # noqa: BLE001 - a bad clip is skipped, not fatal
            log(f"skip {case.case_id}: {e}")
            continue
        if host.iod() < 18 or host.face_ok.mean() < 0.6:
            log(f"skip {case.case_id}: face too small or missing (iod {host.iod():.0f} px)")
            continue
        if case.kind == HAND_WAVE:
            prompt = PromptGenerator(case.seed).next(HAND_WAVE)
            perf = ts.hand_wave_performance(host, sprites, prompt, rng, mode=case.mode)
        else:
            prompt = HeadTurnPrompt(first=("left", "right")[int(rng.integers(2))])
            perf = ts.head_turn_performance(host, prompt, rng)
        if perf is None:
            log(f"skip {case.case_id}: no usable performance")
            continue
        donor = None
        for donor_path in ts.pick_donor(case.host, src, rng)[:6]:
            donor = ts.make_donor(clip(donor_path), rng)
            if donor is not None:
                break
        if donor is None:
            log(f"skip {case.case_id}: no donor with a frontal face")
            continue
        recipe = ts.sample_recipe(rng)
        swapped, swap_info = ts.swap_performance(perf, donor, recipe)
        case_encs = encodings
        if per_case and per_case < len(encodings):
            k0 = (ci * per_case) % len(encodings)
            case_encs = tuple(encodings[(k0 + j) % len(encodings)] for j in range(per_case))
        for label, frames in (("genuine", perf.frames), ("swapped", swapped)):
            lab = label if perf.compliant else f"{label}_noncompliant"
            for enc in case_encs:
                enc_frames = ts.codec_roundtrip(frames, enc, perf.fps)
                tp = time.perf_counter()
                recs: list | None = [] if keep_records else None
                res = score_frames(enc_frames, perf.fps, case.kind, perf.prompt, perf.window, records=recs)
                if recs:
                    _save_records(out / "records" / f"{case.case_id}__{lab}__{enc}.pkl", recs[0], perf, lab, enc,
                                  swap_info if label == "swapped" else None)
                t_perception += time.perf_counter() - tp
                n_frames += len(enc_frames)
                verdict = res.result if res is not None else "inconclusive"
                table[case.kind][enc][lab][verdict] += 1
                rec = {"case": case.case_id, "type": case.kind, "label": lab, "encoding": enc, "result": verdict,
                       "llr": None if res is None else round(res.llr, 3),
                       "reason": None if res is None else res.reason, "host": host.name, "fps": perf.fps,
                       "frames": len(frames), "window": perf.window, "mode": case.mode,
                       "prompt": perf.prompt.to_json() if perf.prompt is not None else None,
                       "performance": _jsonable(perf.meta),
                       "swap": swap_info if label == "swapped" else None,
                       "measurements": None if res is None else res.to_evidence().details}
                lines.append(rec)
                log(f"[{ci + 1}/{len(cases)}] {case.case_id:40s} {lab:22s} {enc:10s} → {verdict:12s} "
                    f"llr {rec['llr']}  {rec['reason']}")
        n_done += 1
        _write_lines(out / "cases.jsonl", lines)
        atomic_write_json(out / "challenges.json", table)
    summary = {"seed": seed, "cases": n_done, "encodings": list(encodings), "kinds": list(kinds),
               "rates": rates(table), "wall_s": round(time.perf_counter() - t0, 1),
               "perception_and_scoring_ms_per_frame": round(1000 * t_perception / max(1, n_frames), 1),
               "sprites": [s.source for s in sprites]}
    if extras:
        summary["gesture_clips"] = [_score_gesture(p, encodings, log) for p in gesture]
        summary["real_swaps_head_turn"] = _score_real_swaps(src, log)
    atomic_write_json(out / "challenges.json", table)
    atomic_write_json(out / "summary.json", _jsonable(summary))
    return {"table": table, "summary": summary}


def rescore(out: Path) -> dict:
    """Re-score every window kept under ``out/records`` with the current scorers; rewrites
    ``challenges.json`` and writes ``cases_rescored.jsonl``. Perception is not re-run."""
    import pickle

    from interview_guard.challenges.runner import SCORERS
    from interview_guard.pipeline.outputs import atomic_write_json

    files = sorted((out / "records").glob("*.pkl"))
    if not files:
        from interview_guard.core.errors import InputError

        raise InputError(f"no kept records under {out / 'records'}", hint="build the set with --keep-records first")
    table: dict = {}
    lines = []
    for f in files:
        with open(f, "rb") as fh:
            d = pickle.load(fh)
        res = SCORERS[d["kind"]]().score(d["baseline"], d["window"], prompt=d["prompt"],
                                         t_start_ns=int(d["window_s"][0] * 1e9), t_end_ns=int(d["window_s"][1] * 1e9))
        enc = table.setdefault(d["kind"], {}).setdefault(
            d["encoding"], {lab: {"failed": 0, "passed": 0, "inconclusive": 0} for lab in LABELS})
        enc[d["label"]][res.result] += 1
        lines.append({"case": f.stem.split("__")[0], "type": d["kind"], "label": d["label"], "encoding": d["encoding"],
                      "result": res.result, "llr": round(res.llr, 3), "reason": res.reason, "host": d["host"],
                      "measurements": res.to_evidence().details})
    atomic_write_json(out / "challenges.json", table)
    _write_lines(out / "cases_rescored.jsonl", lines)
    return table


def _save_records(path: Path, recs, perf, label: str, enc: str, swap: dict | None) -> None:
    import pickle

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"baseline": recs[0], "window": recs[1], "kind": perf.kind, "prompt": perf.prompt,
                     "window_s": perf.window, "label": label, "encoding": enc, "host": perf.host,
                     "meta": perf.meta, "occ": perf.occ, "fps": perf.fps, "swap": swap}, f,
                    protocol=pickle.HIGHEST_PROTOCOL)


def _write_lines(path: Path, lines: list[dict]) -> None:
    from interview_guard.pipeline.outputs import atomic_write_bytes

    atomic_write_bytes(path, "".join(json.dumps(_jsonable(x), sort_keys=True) + "\n" for x in lines).encode())


def _jsonable(v):
    import numpy as np

    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.floating, float)):
        f = float(v)
        return round(f, 4) if f == f and abs(f) != float("inf") else None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def rates(table: dict) -> dict:
    out = {}
    for kind, encs in table.items():
        tot = {lab: {"failed": 0, "passed": 0, "inconclusive": 0} for lab in LABELS}
        for e, labs in encs.items():
            for lab, c in labs.items():
                for r, n in c.items():
                    tot[lab][r] += n
        out[kind] = {}
        for lab, c in tot.items():
            n = sum(c.values())
            out[kind][lab] = {"n": n, **{f"{r}_rate": (round(c[r] / n, 4) if n else None) for r in c}}
    return out


def _score_gesture(path: Path, encodings, log) -> dict:
    """The real gesturing clip, scored as an offline hand-wave span without a prompt: baseline =
    the first 1.5 s, window = the rest; raw and re-encoded."""
    from interview_guard.challenges import testset as ts

    frames, fps = ts.read_frames(path)
    n = len(frames)
    window = (1.5, n / fps)
    res = {"file": path.name}
    for enc in ("raw",) + tuple(encodings):
        fr = frames if enc == "raw" else ts.codec_roundtrip(frames, enc, fps)
        r = score_frames(fr, fps, "hand_wave", None, window)
        res[enc] = {"result": r.result if r else "inconclusive", "llr": r.llr if r else 0.0,
                    "reason": r.reason if r else "", "measurements": r.to_evidence().details if r else None}
        log(f"gesture clip {path.name} [{enc}] → {res[enc]['result']}: {res[enc]['reason']}")
    return res


def _score_real_swaps(src, log) -> list[dict]:
    """Head-turn scoring (no prompt: min yaw on one side) of the real DeepFaceLive swaps and their
    real halves: baseline = first 1.5 s, window = the rest. A sanity check, not a measure."""
    from interview_guard.challenges import testset as ts

    rows = []
    reals = {p.stem.replace("_real_left", ""): p for p in src.hosts if p.stem.endswith("_real_left")}
    for p in src.swaps:
        pair = reals.get(p.stem.replace("_swap_right", ""))
        for label, q in (("swap", p), ("real", pair)):
            if q is None:
                continue
            frames, fps = ts.read_frames(q)
            if len(frames) / fps < 2.5:
                rows.append({"file": q.name, "label": label, "result": "skipped (shorter than 2.5 s)"})
                continue
            r = score_frames(frames, fps, "head_turn", None, (1.5, len(frames) / fps))
            m = r.to_evidence().details if r else {}
            row = {"file": q.name, "label": label, "result": r.result if r else "inconclusive",
                   "llr": r.llr if r else 0.0, "reason": r.reason if r else "",
                   "yaw_left": m.get("yaw_left"), "yaw_right": m.get("yaw_right"),
                   "stair_ratio": m.get("stair_ratio"), "flash_runs": m.get("flash_runs"),
                   "face_dropouts": m.get("face_dropouts"), "llr_parts": m.get("llr_parts")}
            rows.append(row)
            log(f"real {label} {q.name}: {row['result']} (yaw L {row['yaw_left']} R {row['yaw_right']}, "
                f"stair {row['stair_ratio']}, flashes {row['flash_runs']}) {row['reason']}")
    return rows


def format_table(table: dict) -> str:
    lines = []
    for kind, encs in table.items():
        lines.append(f"\n{kind}")
        lines.append(f"  {'encoding':11s} {'label':22s} {'failed':>7s} {'passed':>7s} {'inconcl.':>9s}  failed%")
        for enc, labs in encs.items():
            for lab in LABELS:
                c = labs[lab]
                n = sum(c.values())
                if not n:
                    continue
                lines.append(f"  {enc:11s} {lab:22s} {c['failed']:7d} {c['passed']:7d} {c['inconclusive']:9d}  "
                             f"{100 * c['failed'] / n:6.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from interview_guard.core.errors import IGError

    p = argparse.ArgumentParser(prog="interview-guard eval-challenges", description=__doc__.splitlines()[0])
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run_eval_challenges(args)
    except IGError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

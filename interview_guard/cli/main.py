"""``interview-guard``: gui, analyze, live, doctor, models verify.

Errors a user can cause print one line (``error: ...``) and exit with code 2; no traceback.
With no sub-command the app does its main job: the GUI on a call window or the embedded
demo when a display is available, otherwise a headless analysis of the demo clip.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from interview_guard import __version__
from interview_guard.core.errors import IGError

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"


def demo_path() -> Path:
    if getattr(sys, "frozen", False):
        base = Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
        return base / "assets" / "demo_interview.mp4"
    return ASSETS_DIR / "demo_interview.mp4"


def default_out_dir(name: str) -> Path:
    base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "interview-guard" / "analyses"
    return base / name


def has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM", "").startswith("offscreen"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("win32", "darwin")


# --- commands ---------------------------------------------------------------------------------

def cmd_analyze(args: argparse.Namespace) -> int:
    from interview_guard.cli.progress import ProgressBar
    from interview_guard.reports.offline import analyze_with_report

    path = Path(args.file)
    if path.is_dir():
        return cmd_analyze_batch(args)
    out = Path(args.out) if args.out else default_out_dir(path.stem)
    runner = factory = None
    if getattr(args, "challenge", None):          # challenge spans need every frame of the recording
        from interview_guard.challenges.offline import analyzer_factory, runner_for

        runner = runner_for(args.challenge)
        factory = analyzer_factory(runner)
        args.sample_fps = 0.0
    bar = ProgressBar(f"analysing {path.name}", force=args.progress)
    progress, cancel = bar, None
    stop_after = int(getattr(args, "stop_after_frames", 0) or 0)
    if stop_after > 0:                            # hidden: start-up benchmark (bench/bench_bundle.py)
        import threading

        cancel, seen = threading.Event(), [0]

        def progress(done_s: float, total_s: float) -> None:
            seen[0] += 1
            if seen[0] == 1:
                print("first analysed frame", flush=True)
            if seen[0] >= stop_after:
                cancel.set()
    try:
        off = analyze_with_report(path, out, sample_fps=args.sample_fps, max_width=args.max_width, progress=progress,
                                  report=not getattr(args, "no_report", False), analyzer_factory=factory,
                                  cancel=cancel)
    finally:
        bar.close()
    if runner is not None:
        from interview_guard.challenges.offline import complete, describe

        for res in complete(runner, out / "evidence.jsonl"):
            print(describe(res))
    result = off.result
    s = result.summary
    print(f"analysed {s['frames_analysed']} frames ({s['duration_s']:.1f} s of video) in {s['wall_s']:.1f} s; "
          f"face found in {100 * s['face_fraction']:.0f}% of frames; {s['evidence_count']} evidence items")
    print(f"level: {s['max_level']} ({len(s.get('cues', []))} level changes)")
    print(f"results: {out / 'summary.json'} and {out / 'evidence.jsonl'}")
    if off.report_html:
        print(f"report: {off.report_html}")
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
        return 2
    return 0


def cmd_analyze_batch(args: argparse.Namespace) -> int:
    from interview_guard.reports.batch import run_batch

    path = Path(args.file)
    out = Path(args.out) if args.out else default_out_dir(path.resolve().name + "-batch")
    res = run_batch(path, out, workers=max(1, int(args.workers)), sample_fps=args.sample_fps)
    print(f"batch: {res.analysed} analysed, {res.skipped} already done, {res.failed} failed of {res.total}")
    print(f"summary: {res.csv_path} and {res.html_path}")
    if res.interrupted:
        return 130
    return 2 if res.failed else 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from interview_guard.fusion.fit import run_calibrate

    cache = Path(args.cache) if args.cache else Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "interview-guard" / "calibrate"
    run_calibrate(args.corpus, out=args.out, cache_dir=cache, workers=max(1, int(args.workers)),
                  sample_fps=args.sample_fps, target_amber_per_hour=args.target_amber_per_hour,
                  hours=args.bootstrap_hours, log=print)
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from interview_guard.core.types import SourceEventKind
    from interview_guard.pipeline.live import open_live_session
    from interview_guard.pipeline.outputs import atomic_write_json, prepare_out_dir, write_evidence_jsonl

    spec = args.source or (f"window:{args.window}" if args.window else None)
    if not spec:
        raise IGError("live needs --window TITLE or --source SPEC")
    session = open_live_session(spec, audio=args.audio)
    clock = session.clock
    if not args.quiet_audio_note:
        print(f"[live] {session.audio_note}", file=sys.stderr)
    out = prepare_out_dir(Path(args.out) if args.out else default_out_dir("live-" + time.strftime("%Y%m%d-%H%M%S")))
    session.start()
    try:
        session.wait_started()
    except BaseException:
        session.stop()
        session.join()
        raise
    t_start = clock.now_ns()
    t_end = time.monotonic() + args.seconds
    end_msg = None
    try:
        while time.monotonic() < t_end and session.running:
            ev = session.events.get(timeout=0.2)
            if ev is not None:
                end_msg = ev
                if ev.kind is not SourceEventKind.STARTED:
                    break
    except KeyboardInterrupt:
        pass
    session.stop()
    session.join()
    st = session.stats()
    wall = (clock.now_ns() - t_start) / 1e9
    summary = {"app_version": __version__, "source": spec, "duration_s": round(wall, 3), "wall_s": round(wall, 3), "captured": st.captured, "dropped": st.dropped,
               "fps": round(st.fps, 2), "latency_p50_ms": round(st.latency_p50_ms, 1),
               "latency_p95_ms": round(st.latency_p95_ms, 1),
               "ended": None if end_msg is None else {"kind": end_msg.kind.value, "message": end_msg.message},
               "max_level": session.max_level, "cues": [c.to_json() for c in session.all_cues],
               "audio": {"source": st.audio, "chunks_analysed": st.audio_chunks, "chunks_dropped": st.audio_dropped,
                         "note": session.audio_note}}
    summary.update(session.run_stats.summary())
    write_evidence_jsonl(out / "evidence.jsonl", session.all_evidence)
    atomic_write_json(out / "summary.json", summary)
    print(f"live: {st.analysed} frames analysed of {st.captured} captured ({st.dropped} dropped), "
          f"p95 latency {st.latency_p95_ms:.0f} ms; results in {out}")
    if end_msg is not None and end_msg.kind in (SourceEventKind.LOST, SourceEventKind.ERROR):
        print(f"note: {end_msg.message}", file=sys.stderr)
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    if not has_display():
        raise IGError("no display found ($DISPLAY is not set)",
                      hint="run on a desktop, use `xvfb-run interview-guard gui`, or `interview-guard analyze FILE`")
    from interview_guard.ui.app import run_gui

    return run_gui(args.source, seconds=args.seconds, screenshot=args.screenshot)


def cmd_doctor(args: argparse.Namespace) -> int:
    from interview_guard.cli.doctor import run_doctor

    return run_doctor()


def cmd_models_verify(args: argparse.Namespace) -> int:
    from interview_guard.perception.model_store import ModelStore

    store = ModelStore(Path(args.models_dir) if args.models_dir else None)
    bad = 0
    for mid, path, err in store.verify_all():
        if err:
            bad += 1
            print(f"FAIL {mid}: {err}")
        else:
            print(f"ok   {mid}: {path} (sha256 {store.rows[mid].sha256[:12]}…, {store.rows[mid].licence})")
    if bad:
        print(f"error: {bad} model file(s) failed verification", file=sys.stderr)
        return 2
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from interview_guard.evaluation.cli import run_eval

    return run_eval(args)


def cmd_eval_challenges(args: argparse.Namespace) -> int:
    from interview_guard.challenges.eval_cli import run_eval_challenges

    return run_eval_challenges(args)


def cmd_default(args: argparse.Namespace) -> int:
    """The app's main job: GUI with a display, else analyse the demo clip headless."""
    if has_display():
        from interview_guard.ui.app import run_gui

        return run_gui(None)
    demo = demo_path()
    out = Path(args.out) if getattr(args, "out", None) else default_out_dir("demo")
    print(f"no display: analysing the demo recording {demo} headless")
    from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS

    ns = argparse.Namespace(file=str(demo), out=str(out), sample_fps=DEFAULT_SAMPLE_FPS, max_width=0, progress=False,
                            workers=2)
    return cmd_analyze(ns)


# --- parser -------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="interview-guard", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"interview-guard {__version__}")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the desktop app")
    g.add_argument("--source", help="window:TITLE | screen | camera:N | file:PATH | demo")
    g.add_argument("--seconds", type=float, help="run this long, then quit (smoke tests)")
    g.add_argument("--screenshot", help="save a PNG of the window before quitting (with --seconds)")
    g.set_defaults(func=cmd_gui)

    from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS

    a = sub.add_parser("analyze", help="analyse a recording (or every recording in a folder) offline, "
                                       "with an HTML report")
    a.add_argument("file", help="a recording, or a folder of recordings (batch: summary.csv + summary.html, "
                                "resumable)")
    a.add_argument("--out", help="output folder (default: ~/.local/share/interview-guard/analyses/<name>)")
    a.add_argument("--sample-fps", type=float, default=DEFAULT_SAMPLE_FPS,
                   help=f"analyse at most this many frames per second (default {DEFAULT_SAMPLE_FPS:g}: every check "
                        "still gets >= 7 samples per window; 0 = every frame)")
    a.add_argument("--max-width", type=int, default=0, help="downscale wider frames to this width (0 = keep)")
    a.add_argument("--no-report", action="store_true", help="skip report.html / report.json")
    a.add_argument("--workers", type=int, default=2,
                   help="parallel processes (default 2, one per core): a folder analyses this many recordings at once; "
                        "a recording of 10 min or more is analysed in this many parts")
    a.add_argument("--progress", action="store_true", help="draw the progress bar even when not on a terminal")
    a.add_argument("--challenge", action="append", metavar="START-END[:TYPE]",
                   help="score a challenge the candidate performed in this span of the recording (seconds; TYPE "
                        "hand_wave (default) or head_turn); repeatable; analyses every frame")
    a.add_argument("--stop-after-frames", type=int, default=0, help=argparse.SUPPRESS)  # start-up benchmark
    a.set_defaults(func=cmd_analyze)

    cal = sub.add_parser("calibrate", help="fit the detectors' calibration and the alarm thresholds on a "
                                           "labelled corpus (writes models/calibration.json)")
    cal.add_argument("--corpus", required=True, help="folder with a MANIFEST.tsv (file, label, ...)")
    cal.add_argument("--out", help="where to write the table (default: models/calibration.json)")
    cal.add_argument("--cache", help="evidence cache folder (default: ~/.cache/interview-guard/calibrate)")
    cal.add_argument("--workers", type=int, default=2)
    cal.add_argument("--sample-fps", type=float, default=DEFAULT_SAMPLE_FPS)
    cal.add_argument("--target-amber-per-hour", type=float, default=0.5,
                     help="false amber alarms per hour of genuine footage the thresholds aim for (default 0.5)")
    cal.add_argument("--bootstrap-hours", type=float, default=200.0,
                     help="synthetic genuine hours replayed to set the thresholds (default 200)")
    cal.set_defaults(func=cmd_calibrate)

    lv = sub.add_parser("live", help="headless live analysis of a call window")
    lv.add_argument("--window", help="part of the call window's title, e.g. 'Zoom Meeting'")
    lv.add_argument("--source", help="any source spec instead of --window")
    lv.add_argument("--seconds", type=float, default=30.0)
    lv.add_argument("--audio", default="auto",
                    help="sound to analyse: auto (a recording's own track, else the call audio through the "
                         "system loopback when available), loopback[:MONITOR], mic[:DEVICE], file:PATH, none")
    lv.add_argument("--quiet-audio-note", action="store_true", help=argparse.SUPPRESS)
    lv.add_argument("--out")
    lv.set_defaults(func=cmd_live)

    d = sub.add_parser("doctor", help="check display, Qt, audio, models and permissions")
    d.set_defaults(func=cmd_doctor)

    m = sub.add_parser("models", help="model files")
    msub = m.add_subparsers(dest="models_cmd")
    mv = msub.add_parser("verify", help="check every model file against its sha256")
    mv.add_argument("--models-dir")
    mv.set_defaults(func=cmd_models_verify)

    from interview_guard.evaluation.cli import add_arguments as add_eval_arguments

    ev = sub.add_parser("eval", help="measure the detectors on a labelled folder with a MANIFEST.tsv")
    add_eval_arguments(ev)
    ev.set_defaults(func=cmd_eval)

    from interview_guard.challenges.eval_cli import add_arguments as add_challenge_eval_arguments

    ec = sub.add_parser("eval-challenges", help="build the seeded challenge test set from a corpus folder and "
                                                "score it (challenges.json + a confusion table)")
    add_challenge_eval_arguments(ec)
    ec.set_defaults(func=cmd_eval_challenges)

    r = sub.add_parser("run", help="the main job: GUI, or a headless analysis of the demo clip")
    r.add_argument("--out")
    r.set_defaults(func=cmd_default)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        if args.command == "models":
            parser.parse_args(["models", "--help"])
        func = cmd_default
    try:
        return int(func(args) or 0)
    except IGError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

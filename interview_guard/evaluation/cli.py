"""``interview-guard eval``: run the registered risk detectors over a labelled corpus folder.

    interview-guard eval --corpus DIR --out OUT [--json FILE] [--detectors a,b] [--labels x,y]
                         [--pairs REAL|FAKE,...] [--limit N] [--sample-fps 5] [--workers 2]
                         [--cache DIR | --no-cache] [--bootstrap 1000] [--seed 0]

Accepts any folder with a ``MANIFEST.tsv`` (see ``manifest.py``). Files that are missing or fail
to decode are skipped with a warning and counted; they never stop the run. This module imports
only argparse at load time (``interview_guard.cli.main`` builds its parser from it).
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--corpus", required=True, help="folder with a MANIFEST.tsv (or the manifest file itself)")
    p.add_argument("--out", help="output folder for metrics.json, scores.csv and roc_*.png "
                                 "(default: ~/.local/share/interview-guard/eval/<corpus name>)")
    p.add_argument("--json", dest="json_file", help='also write {"pairs": {"REAL|FAKE": {"<detector>|fused": '
                                                    '{"auc", "eer", "tpr_at_1pct_fpr", "n_real", "n_fake", ...}}}}')
    p.add_argument("--detectors", help="comma-separated detector ids to run (default: every registered risk detector)")
    p.add_argument("--labels", help="comma-separated labels to evaluate (default: all in the manifest)")
    p.add_argument("--pairs", help="comma-separated REAL_LABEL|FAKE_LABEL comparisons (default: the known pairs, "
                                   "then each other fake label vs its modality's genuine label)")
    p.add_argument("--limit", type=int, default=0, help="at most N clips per label (seeded sample; 0 = all)")
    p.add_argument("--sample-fps", type=float, default=5.0, help="video frames analysed per second (default 5)")
    p.add_argument("--max-width", type=int, default=0, help="downscale wider frames to this width (0 = keep)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with its own analyzer (default 1)")
    p.add_argument("--cache", help="per-clip score cache folder (default: OUT/cache)")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the score cache")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the CIs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed for bootstrap and --limit sampling (default 0)")
    p.add_argument("--quiet", action="store_true", help="no per-clip progress lines")


def run_eval(args: argparse.Namespace) -> int:
    from interview_guard.evaluation.runner import EvalOptions, run

    opts = EvalOptions(
        corpus=args.corpus, out=args.out, json_file=args.json_file,
        detectors=_csv(args.detectors), labels=_csv(args.labels), pairs=args.pairs,
        limit=args.limit, sample_fps=args.sample_fps, max_width=args.max_width, workers=args.workers,
        cache=args.cache, no_cache=args.no_cache, n_boot=args.bootstrap, seed=args.seed, quiet=args.quiet)
    return run(opts)


def _csv(s: str | None) -> list[str] | None:
    if s is None:
        return None
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m interview_guard.evaluation.cli``); same as ``interview-guard eval``."""
    import sys

    from interview_guard.core.errors import IGError

    p = argparse.ArgumentParser(prog="interview-guard eval", description=__doc__.splitlines()[0])
    add_arguments(p)
    args = p.parse_args(argv)
    try:
        return run_eval(args)
    except IGError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

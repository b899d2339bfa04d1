"""Size and start-up of the frozen app (issue 8 budgets).

    .venv/bin/python bench/bench_bundle.py [--bundle build/stage/interview-guard-<v>] [--runs 3]

Prints the unpacked size (total, the 15 largest entries of the folder and the 15 largest files), the
.tar.gz and .deb sizes, and the cold-start time: from exec of ``interview-guard analyze <demo>
--stop-after-frames 1`` in a clean environment (``env -i``, outside the venv) to the line the CLI prints
when the first frame has been analysed (models sha256-checked and loaded, landmarker run). The first run
after a build is reported apart (cold page cache as far as this machine lets us; caches are not dropped,
the machine is shared) and the median over ``--runs``. Budgets: 800 MB unpacked, 320 MB tarball, 3 s.
Run ``packaging/build`` first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_MB, BUDGET_TGZ_MB, BUDGET_START_S = 800, 320, 3.0
MB = 1024 * 1024


def tree_size(p: Path) -> int:
    if p.is_symlink():
        return 0
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())


def time_to_first_frame(app: Path, demo: Path) -> float:
    with tempfile.TemporaryDirectory() as home:
        env = ["env", "-i", "PATH=/usr/bin:/bin", f"HOME={home}"]
        t0 = time.perf_counter()
        p = subprocess.Popen([*env, str(app), "analyze", str(demo), "--out", f"{home}/out", "--no-report",
                              "--stop-after-frames", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        t = None
        for line in p.stdout:
            if line.startswith("first analysed frame"):
                t = time.perf_counter() - t0
                break
        p.stdout.read()
        err = p.stderr.read()
        rc = p.wait()
        if t is None or rc != 0:
            raise SystemExit(f"the bundle did not analyse a frame (exit {rc}): {err[-2000:]}")
        return t


def main() -> int:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(REPO / "build" / "stage" / f"interview-guard-{version}"))
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    stage = Path(args.bundle)
    app = stage / "interview-guard"
    if not app.is_file():
        print(f"error: no bundle at {stage}; run packaging/build first", file=sys.stderr)
        return 2

    total = tree_size(stage)
    internal = stage / "_internal"
    entries = [(tree_size(p), p.relative_to(stage)) for p in list(internal.iterdir()) + [app]]
    files = [(f.stat().st_size, f.relative_to(stage)) for f in stage.rglob("*") if f.is_file() and not f.is_symlink()]
    print(f"bundle {stage}")
    print(f"unpacked: {total / MB:.0f} MB in {len(files)} files (budget {BUDGET_MB} MB: "
          f"{'OK' if total <= BUDGET_MB * MB else 'OVER'})")
    print("largest entries of the folder:")
    for size, rel in sorted(entries, reverse=True)[:15]:
        print(f"  {size / MB:7.1f} MB  {rel}")
    print("largest files:")
    for size, rel in sorted(files, reverse=True)[:15]:
        print(f"  {size / MB:7.1f} MB  {rel}")
    tgz = REPO / "dist" / f"interview-guard-{version}-linux-x86_64.tar.gz"
    deb = REPO / "dist" / f"interview-guard_{version}_amd64.deb"
    if tgz.is_file():
        s = tgz.stat().st_size
        print(f"tar.gz: {s / MB:.0f} MB (budget {BUDGET_TGZ_MB} MB: {'OK' if s <= BUDGET_TGZ_MB * MB else 'OVER'})")
    if deb.is_file():
        print(f".deb:   {deb.stat().st_size / MB:.0f} MB")

    demo = internal / "assets" / "demo_interview.mp4"
    times = [time_to_first_frame(app, demo) for _ in range(max(1, args.runs))]
    med = statistics.median(times)
    print(f"cold start to the first analysed frame of the demo clip: first run {times[0]:.2f} s, "
          f"median of {len(times)} {med:.2f} s (budget {BUDGET_START_S:.0f} s: "
          f"{'OK' if med <= BUDGET_START_S else 'OVER'}); load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())

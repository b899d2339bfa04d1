"""``interview-guard analyze DIR``: many recordings, one summary table, resumable, both cores.

* Every media file under DIR (recursively; by extension) is analysed with
  ``reports.offline.analyze_with_report`` into ``OUT/<relative path>/`` (summary.json,
  evidence.jsonl, risk.json, report.html, report.json).
* ``workers`` processes (default 2: one per core; each runs MediaPipe on one core).
* **Resumable**: a file is finished when its ``done.json`` (written atomically, last) matches the
  file's size, mtime and the sampling; a re-run skips finished files and redoes the rest (an
  interrupted file has no done.json).
* ``summary.csv`` and ``summary.html`` (one row per file: level, first amber/red time, face
  fraction, link to the report) are rewritten after every file, so an interrupted batch still
  has an up-to-date table.
"""

from __future__ import annotations

import csv
import html
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from interview_guard import __version__
from interview_guard.pipeline.outputs import atomic_write_bytes, atomic_write_json, prepare_out_dir
from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS

MEDIA_EXTS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
DONE = "done.json"
CSV_COLUMNS = ["file", "status", "level", "duration_s", "first_amber_s", "first_red_s", "level_changes",
               "face_fraction", "error", "report"]


def find_media(root: Path) -> list[Path]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            p = Path(dirpath) / f
            if p.suffix.lower() in MEDIA_EXTS and not f.startswith("."):
                out.append(p)
    return out


def out_name(root: Path, p: Path) -> str:
    rel = p.relative_to(root)
    return "__".join(rel.with_suffix("").parts) + (p.suffix.replace(".", "_") if p.suffix else "")


def _fingerprint(p: Path, sample_fps: float) -> dict:
    st = p.stat()
    return {"source": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sample_fps": sample_fps,
            "app_version": __version__}


def is_done(out_dir: Path, fp: dict) -> dict | None:
    try:
        d = json.loads((out_dir / DONE).read_text())
    except (OSError, ValueError):
        return None
    return d if all(d.get(k) == v for k, v in fp.items()) else None


@dataclass
class BatchResult:
    total: int
    analysed: int
    skipped: int
    failed: int
    interrupted: bool
    csv_path: Path
    html_path: Path


def _row_from_summary(name: str, rel_report: str, s: dict | None, error: str | None) -> dict:
    if s is None:
        return {"file": name, "status": "failed", "level": "", "duration_s": "", "first_amber_s": "",
                "first_red_s": "", "level_changes": "", "face_fraction": "", "error": error or "", "report": ""}
    cues = s.get("cues", [])
    first = {lv: next((c["t_s"] for c in cues if c["level"] == lv), "") for lv in ("amber", "red")}
    return {"file": name, "status": "complete" if s.get("complete") else ("cancelled" if s.get("cancelled") else "partial"),
            "level": s.get("max_level", ""), "duration_s": s.get("duration_s", ""), "first_amber_s": first["amber"],
            "first_red_s": first["red"], "level_changes": len(cues), "face_fraction": s.get("face_fraction", ""),
            "error": s.get("error") or "", "report": rel_report}


def _worker(args: tuple) -> dict:
    """One file in a worker process. Returns a row dict; never raises."""
    path, out_dir, sample_fps, factory = args
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        import cv2

        cv2.setNumThreads(1)
    except Exception:  # noqa: BLE001
        pass
    from interview_guard.reports.offline import analyze_with_report

    t0 = time.perf_counter()
    p, out = Path(path), Path(out_dir)
    try:
        res = analyze_with_report(p, out, sample_fps=sample_fps, analyzer_factory=factory)
        s = res.result.summary
        fp = _fingerprint(p, sample_fps)
        fp.update({"max_level": s.get("max_level"), "wall_s": round(time.perf_counter() - t0, 2)})
        if s.get("complete"):
            atomic_write_json(out / DONE, fp)
        return {"ok": True, "summary": s, "error": s.get("error")}
    except Exception as e:  # noqa: BLE001 - one bad file must not stop the batch
        return {"ok": False, "summary": None, "error": str(e).splitlines()[0][:300] if str(e) else type(e).__name__}


def write_tables(rows: list[dict], out: Path) -> tuple[Path, Path]:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in CSV_COLUMNS})
    csv_path, html_path = out / "summary.csv", out / "summary.html"
    atomic_write_bytes(csv_path, buf.getvalue().encode())
    from interview_guard.reports.html import CSS, _badge, _img
    from interview_guard.reports.plots import summary_bar_png

    e = html.escape
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>interview-guard batch summary"
             f"</title><style>{CSS}</style></head><body><main><h1>Batch summary</h1>"
             f"<div class='meta'>{len(rows)} recordings · generated {e(time.strftime('%Y-%m-%d %H:%M'))} · "
             f"analysed locally</div>"]
    done = [(r["file"], r["level"]) for r in rows if r.get("level")]
    if done:
        parts.append(_img(summary_bar_png(done), "levels per recording", "bar"))
    parts.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in CSV_COLUMNS) + "</tr>")
    for r in rows:
        cells = []
        for c in CSV_COLUMNS:
            v = r.get(c, "")
            if c == "level" and v:
                cells.append(f"<td>{_badge(str(v))}</td>")
            elif c == "report" and v:
                cells.append(f"<td><a href='{e(str(v))}'>report</a></td>")
            else:
                cells.append(f"<td>{e(str(v))}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</table></main></body></html>")
    atomic_write_bytes(html_path, "".join(parts).encode())
    return csv_path, html_path


def run_batch(in_dir: str | Path, out_dir: str | Path, *, workers: int = 2, sample_fps: float = DEFAULT_SAMPLE_FPS,
              analyzer_factory: Callable[[], object] | None = None,
              log: Callable[[str], None] | None = None) -> BatchResult:
    """Analyse every recording under ``in_dir``. ``analyzer_factory`` must be picklable (a
    module-level function) when ``workers > 1``."""
    from interview_guard.core.errors import InputError

    log = log or (lambda m: print(m, file=sys.stderr))
    root = Path(in_dir)
    files = find_media(root)
    if not files:
        raise InputError(f"no recordings found in {root}",
                         hint=f"the folder needs video files ({', '.join(sorted(MEDIA_EXTS))})")
    out = prepare_out_dir(Path(out_dir))
    rows: dict[str, dict] = {}
    todo = []
    skipped = 0
    for p in files:
        name = out_name(root, p)
        fo = out / name
        d = is_done(fo, _fingerprint(p, sample_fps))
        if d is not None:
            try:
                s = json.loads((fo / "summary.json").read_text())
            except (OSError, ValueError):
                s = None
            if s is not None:
                rows[name] = _row_from_summary(str(p.relative_to(root)), f"{name}/report.html", s, None)
                skipped += 1
                continue
        rows[name] = {"file": str(p.relative_to(root)), "status": "pending"}
        todo.append((p, name))
    log(f"batch: {len(files)} recordings, {skipped} already done, {len(todo)} to analyse with {workers} worker(s)")
    order = [out_name(root, p) for p in files]
    write_tables([rows[n] for n in order], out)
    analysed = failed = 0
    interrupted = False
    t0 = time.perf_counter()

    def finish(name: str, p: Path, r: dict) -> None:
        nonlocal analysed, failed
        rows[name] = _row_from_summary(str(p.relative_to(root)), f"{name}/report.html" if r["ok"] else "",
                                       r["summary"], r["error"])
        if r["ok"]:
            analysed += 1
        else:
            failed += 1
        write_tables([rows[n] for n in order], out)
        log(f"  [{analysed + failed}/{len(todo)}] {p.name}: {rows[name]['level'] or 'failed'}"
            f"{' (' + r['error'] + ')' if r.get('error') else ''} — {time.perf_counter() - t0:.0f} s")

    try:
        if workers <= 1 or len(todo) <= 1:
            for p, name in todo:
                finish(name, p, _worker((str(p), str(out / name), sample_fps, analyzer_factory)))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            with ProcessPoolExecutor(max_workers=min(workers, len(todo)), mp_context=mp.get_context("spawn")) as pool:
                futs = {pool.submit(_worker, (str(p), str(out / name), sample_fps, analyzer_factory)): (p, name)
                        for p, name in todo}
                try:
                    for f in as_completed(futs):
                        p, name = futs[f]
                        try:
                            r = f.result()
                        except Exception as e:  # noqa: BLE001 - a crashed worker
                            r = {"ok": False, "summary": None, "error": f"worker crashed: {e}"}
                        finish(name, p, r)
                except KeyboardInterrupt:
                    for f in futs:
                        f.cancel()
                    raise
    except KeyboardInterrupt:
        interrupted = True
        log("interrupted: finished files are kept; run the same command again to resume")
    csv_path, html_path = write_tables([rows[n] for n in order], out)
    return BatchResult(len(files), analysed, skipped, failed, interrupted, csv_path, html_path)

"""Golden runs of the offline pipeline *with fusion* on two corpus clips (one genuine, one swap),
the HTML report rendered by headless Chromium, and the resumable batch mode.

The golden runs pin what they depend on, so a re-fit of ``models/calibration.json`` or a new
detector does not move them: the detector list (``PINNED``) and the calibration table
(``tests/golden/fusion_calibration.json``, a copy of a ``calibrate`` result restricted to those
detectors). A detector whose *version* changed fails the test with the command to regenerate
(``IG_REGEN_GOLDEN=1 pytest tests/golden/test_fusion_golden.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from interview_guard.detectors import registry
from interview_guard.fusion import Calibration, FusionEngine
from interview_guard.pipeline.analyzer import Analyzer
from interview_guard.reports.offline import DEFAULT_SAMPLE_FPS, analyze_with_report
from tests.helpers.corpus import require_corpus

GOLDEN = Path(__file__).resolve().parent
CAL = GOLDEN / "fusion_calibration.json"
PINNED = ("colour_mismatch", "face_quality", "identity_flicker", "landmark_jitter", "seam_band", "sharpness_mismatch")
CLIPS = {
    "genuine": "video_real/dfl_Albica_Johns_0_real_left.mp4",
    "swap": "video_fake_faceswap/dfl_Albica_Johns_0_swap_right.mp4",
}
REGEN = os.environ.get("IG_REGEN_GOLDEN") == "1"


def pinned_analyzer() -> Analyzer:
    dets = registry.create_all(only=PINNED)
    return Analyzer(detectors=dets, fusion=FusionEngine(Calibration.load(CAL, missing_ok=False), detectors=dets))


def golden_view(s: dict) -> dict:
    return {
        "source": s["source"],
        "detectors": {d["id"]: d["version"] for d in s["detectors"]},
        "frames_analysed": s["frames_analysed"],
        "max_level": s["max_level"],
        "cues": [{"level": c["level"], "t_s": c["t_s"]} for c in s["cues"]],
        "risk_events": s["risk_events"],
        "final_score": s["fusion"]["final_score"],
        "usable_fraction": s["fusion"]["usable_fraction"],
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    root = require_corpus()
    out = {}
    for name, rel in CLIPS.items():
        d = tmp_path_factory.mktemp(name)
        res = analyze_with_report(root / rel, d, sample_fps=DEFAULT_SAMPLE_FPS, analyzer_factory=pinned_analyzer)
        out[name] = (res, d)
    return out


@pytest.mark.parametrize("name", sorted(CLIPS))
def test_golden_fusion(runs, name):
    res, d = runs[name]
    got = golden_view(res.result.summary)
    path = GOLDEN / f"fusion_{name}.json"
    if REGEN or not path.exists():
        path.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not REGEN:
            pytest.fail(f"wrote the missing golden file {path}; check it and commit it")
    want = json.loads(path.read_text())
    assert got["detectors"] == want["detectors"], (
        "a pinned detector changed version: regenerate with IG_REGEN_GOLDEN=1 pytest tests/golden/test_fusion_golden.py")
    assert got["frames_analysed"] == want["frames_analysed"]
    assert got["max_level"] == want["max_level"]
    assert [c["level"] for c in got["cues"]] == [c["level"] for c in want["cues"]]
    for a, b in zip(got["cues"], want["cues"]):
        assert abs(a["t_s"] - b["t_s"]) <= 2.0, (got["cues"], want["cues"])
    for det, n in want["risk_events"].items():
        assert abs(got["risk_events"].get(det, 0) - n) <= 1, (det, got["risk_events"], want["risk_events"])
    assert abs(got["final_score"] - want["final_score"]) <= 0.5
    # the files the analysis promises
    for f in ("summary.json", "evidence.jsonl", "risk.json", "report.html", "report.json"):
        assert (d / f).is_file(), f
    s = json.loads((d / "summary.json").read_text())
    assert s["max_level"] in ("green", "amber", "red", "inconclusive") and s["max_level"] == want["max_level"]


def test_fusion_read_the_swap(runs):
    """The fusion saw usable evidence on the swap clip (whatever level it reached)."""
    pts = json.loads((runs["swap"][1] / "risk.json").read_text())
    assert pts and any(p["usable"] for p in pts)
    assert any(p["contrib"] for p in pts)


# -- the report in Chromium ----------------------------------------------------------------------------

class _Imgs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[dict] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        for k in ("href", "src"):
            if k in a and a[k] and not a[k].startswith(("data:", "#")) and tag != "a":
                self.links.append(a[k])


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _render(html_path: Path, tmp_path: Path) -> np.ndarray:
    from tests.conftest import skip_or_fail

    exe = _chromium()
    if exe is None:
        skip_or_fail("chromium is not installed (apt install chromium; scripts/bootstrap test does it)")
    png = tmp_path / (html_path.stem + ".png")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", "--no-first-run",
                           f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}", "--window-size=1280,2000",
                           html_path.as_uri()], capture_output=True, text=True, timeout=120)
    assert png.is_file(), proc.stderr[-2000:]
    from PIL import Image

    rgb = np.asarray(Image.open(png).convert("RGB")).astype(np.int16)
    assert rgb.shape[:2] == (2000, 1280)
    return rgb


def _count(rgb: np.ndarray, hex_colour: str, tol: int = 6) -> int:
    c = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(rgb - c).sum(axis=2) <= tol).sum())


def _photo_strips(rgb: np.ndarray) -> int:
    """Most distinct colours in any 40-px horizontal strip: photos have thousands, plots and text few."""
    best = 0
    for y in range(0, rgb.shape[0] - 40, 40):
        band = rgb[y:y + 40].reshape(-1, 3).astype(np.int64)
        best = max(best, len(np.unique(band[:, 0] * 65536 + band[:, 1] * 256 + band[:, 2])))
    return best


def _parse(page: str) -> _Imgs:
    parser = _Imgs()
    parser.feed(page)
    assert parser.links == [], f"the report must not load anything from outside: {parser.links}"
    assert "http://" not in page and "https://" not in page
    return parser


def test_corpus_report_renders_in_headless_chromium(runs, tmp_path):
    from interview_guard.reports.plots import LEVEL_COLOURS

    res, d = runs["swap"]
    page = res.report_html.read_text()
    imgs = _parse(page).imgs
    timeline = [i for i in imgs if i.get("class") == "timeline"]
    pictures = [i for i in imgs if i.get("class") in ("thumb", "overview")]
    assert len(timeline) == 1 and timeline[0]["src"].startswith("data:image/png;base64,")
    assert pictures and all(t["src"].startswith("data:image/jpeg;base64,") for t in pictures)
    for section in ("verdict", "timeline", "moments", "cues", "challenges", "segments", "cannot-judge"):
        assert f"id='{section}'" in page, section
    rgb = _render(res.report_html, tmp_path)
    bg = np.array([0xF6, 0xF7, 0xF9])
    assert (np.abs(rgb - bg).sum(axis=2) > 12).mean() > 0.1, "the page rendered (nearly) blank"
    # (on a clip without risk the curve lies on the axis; the flagged report below checks the curve)
    assert max(_count(rgb, c) for c in LEVEL_COLOURS.values()) > 5000, "no level band drawn"
    assert _count(rgb, "#b7791f", 40) > 100, "no amber threshold line drawn"
    assert _photo_strips(rgb) > 2500, "no thumbnail visible"


def test_flagged_report_renders_timeline_and_flagged_thumbnails(tmp_path):
    """A report with an amber period, cue thumbnails from real frames, a failed challenge and a
    recorded segment, rendered by Chromium: every section is filled."""
    import av

    from interview_guard.core.types import Evidence
    from interview_guard.fusion import FusionConfig
    from interview_guard.reports.html import ReportInput, build_report
    from interview_guard.reports.plots import LEVEL_COLOURS
    from interview_guard.reports.thumbs import Thumb, encode_jpeg

    root = require_corpus()
    frames = []
    with av.open(str(root / CLIPS["swap"])) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i % 30 == 0:
                frames.append(f.to_ndarray(format="rgb24"))
            if len(frames) >= 6:
                break
    NS = 1_000_000_000
    ev = [Evidence("seam_band", int(t * NS), int((t + 1.5) * NS), 2.0 if 20 <= t < 50 else -0.5, 0.9,
                   "The edge of the face shows a blending seam." if 20 <= t < 50 else "Consistent.")
          for t in np.arange(0, 90, 1.5)]
    ev.append(Evidence("challenge_hand_wave", 55 * NS, 60 * NS, 4.6, 1.0, "The face stayed drawn over the hand.",
                       details={"result": "failed", "type": "hand_wave"}))
    ev.append(Evidence("face_quality", 90 * NS, 120 * NS, 0.0, 0.0, "No face is visible.", kind="quality",
                       code="no_face"))
    eng = FusionEngine(Calibration(), FusionConfig(k=0.1, h_amber=2.0, h_red=6.0), versions={"seam_band": "1"},
                       modalities={"seam_band": "video", "face_quality": "video"})
    cues = eng.replay(ev, 120 * NS)
    assert any(c.level.value in ("amber", "red") for c in cues)
    thumbs = [Thumb(int((20 + 8 * i) * NS), encode_jpeg(fr), f"amber: moment {i}", "cue") for i, fr in enumerate(frames)]
    summary = {"source": "synthetic.mp4", "duration_s": 120.0, "max_level": eng.max_level.value,
               "detectors": [{"id": "seam_band", "version": "1"}, {"id": "face_quality", "version": "1"}],
               "fusion": eng.summary(), "_modalities": {"seam_band": "video", "face_quality": "video"},
               "frames_with_face": 500, "face": {"size_px_median": 150, "yaw_deg_median": 3}}
    seg = {"wall_start": "2026-01-01T10:00:05", "duration_s": 25.0, "file": "x.mp4", "level": "amber",
           "trigger": "amber", "reasons": ["Worth a check: seam."]}
    html_path, json_path = build_report(ReportInput(summary, ev, cues, eng.points, thumbs=thumbs, segments=[seg],
                                                    h_amber=2.0, h_red=6.0), tmp_path)
    page = html_path.read_text()
    imgs = _parse(page).imgs
    assert len([i for i in imgs if i.get("class") == "timeline"]) == 1
    assert len([i for i in imgs if i.get("class") == "thumb"]) == len(frames)
    data = json.loads(json_path.read_text())
    assert data["verdict"]["level"] in ("amber", "red") and data["verdict"]["next_step"]
    assert data["challenges"][0]["result"] == "failed"
    assert any("could not judge" in g["text"] for g in data["cannot_judge"])
    assert data["periods"] and data["segments"] == [seg]
    rgb = _render(html_path, tmp_path)
    assert _count(rgb, "#34495e", 30) > 300, "no risk curve drawn"
    assert _count(rgb, LEVEL_COLOURS["amber"]) > 3000, "no amber band drawn"
    assert _photo_strips(rgb) > 2500, "no thumbnail visible"


# -- batch: resumable, both cores ---------------------------------------------------------------------------

def test_batch_summary_and_resume(tmp_path):
    from interview_guard.reports.batch import DONE, run_batch

    root = require_corpus()
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(root / CLIPS["genuine"], src / "a.mp4")
    shutil.copy(root / CLIPS["swap"], src / "sub" / "b.mp4")
    (src / "notes.txt").write_text("not a video")
    out = tmp_path / "out"
    res = run_batch(src, out, workers=2, analyzer_factory=pinned_analyzer, log=lambda m: None)
    assert (res.total, res.analysed, res.skipped, res.failed, res.interrupted) == (2, 2, 0, 0, False)
    import csv

    rows = list(csv.DictReader(open(res.csv_path)))
    assert [r["file"] for r in rows] == ["a.mp4", "sub/b.mp4"]
    assert all(r["status"] == "complete" and r["level"] for r in rows)
    assert (out / rows[0]["report"]).is_file()
    html = res.html_path.read_text()
    assert "a.mp4" in html and "sub/b.mp4" in html
    # an interrupted run = a file without done.json: only that one is redone
    (out / "sub__b_mp4" / DONE).unlink()
    logs = []
    res2 = run_batch(src, out, workers=2, analyzer_factory=pinned_analyzer, log=logs.append)
    assert (res2.analysed, res2.skipped) == (1, 1)
    assert any("1 already done, 1 to analyse" in m for m in logs)
    # a changed file (new mtime) is redone too
    os.utime(src / "a.mp4", (1, 1))
    res3 = run_batch(src, out, workers=1, analyzer_factory=pinned_analyzer, log=lambda m: None)
    assert (res3.analysed, res3.skipped) == (1, 1)


# -- one long recording on both cores ---------------------------------------------------------------------

def test_two_part_analysis_matches_one_pass(runs, tmp_path, monkeypatch):
    """The two-process path (used for recordings of 10 min or more) on a short clip: same frames,
    nearly the same evidence, one fusion over all of it, a full report."""
    from interview_guard.reports import parallel

    monkeypatch.setattr(parallel, "SPLIT_MIN_S", 0.0)
    one = runs["swap"][0].result.summary
    res = analyze_with_report(require_corpus() / CLIPS["swap"], tmp_path, sample_fps=DEFAULT_SAMPLE_FPS,
                              analyzer_factory=pinned_analyzer, workers=2)
    two = res.result.summary
    assert two["workers"] == 2 and two["complete"] and two["error"] is None
    assert abs(two["frames_analysed"] - one["frames_analysed"]) <= 2
    assert abs(two["duration_s"] - one["duration_s"]) < 0.2
    n1, n2 = sum(one["risk_events"].values()), sum(two["risk_events"].values())
    assert abs(n1 - n2) <= 4, (one["risk_events"], two["risk_events"])   # each part warms up on its own
    assert two["max_level"] in ("green", "amber", "red", "inconclusive") and two["cues"]
    assert res.report_html.is_file() and (tmp_path / "risk.json").is_file()
    assert "id='overview'" in res.report_html.read_text()

"""The frozen one-folder app, run as a user runs it: outside the venv, in a clean environment.

``packaging/build --reuse`` builds (or reuses) ``build/stage/interview-guard-<v>/``; every command here
runs it with ``env -i PATH=/usr/bin:/bin HOME=<tmp> DISPLAY=<private Xvfb>`` and nothing else, and
compares what it does with the source install (this checkout, run with the venv's Python).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from tests.helpers.cli import assert_one_clear_error, run_cli
from tests.helpers.corpus import corpus_root, require_corpus
from tests.helpers.xvfb import XvfbServer
from tests.packaging.conftest import REPO, clean_env, run_clean

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

DEMO = REPO / "assets" / "demo_interview.mp4"
CORPUS_CLIP = "lp_source_s18.mp4"       # one of the golden clips (tests/golden)


@pytest.fixture(scope="module")
def xvfb():
    with XvfbServer() as x:
        yield x


@pytest.fixture(scope="module")
def app(built) -> Path:
    return built["stage"] / "interview-guard"


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("home")


def frozen(app: Path, home: Path, *args: str, display: str | None = None, timeout: float = 600):
    return run_clean([app, *args], clean_env(home, display), cwd=home, timeout=timeout)


def _models() -> list[dict]:
    return json.loads((REPO / "models" / "manifest.json").read_text())["models"]


# --- basics -------------------------------------------------------------------------------------------

def test_version(app, home, built):
    p = frozen(app, home, "--version")
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == f"interview-guard {built['version']}"


def test_models_verify_every_manifest_row(app, home, built):
    p = frozen(app, home, "models", "verify")
    assert p.returncode == 0, (p.stdout, p.stderr)
    bundle_models = built["stage"] / "_internal" / "models"
    for row in _models():
        line = next((ln for ln in p.stdout.splitlines() if ln.startswith(f"ok   {row['id']}:")), None)
        assert line is not None, (row["id"], p.stdout)
        assert str(bundle_models / row["file"]) in line, line


def test_doctor_says_frozen_and_where_models_are(app, home, built, xvfb):
    p = frozen(app, home, "doctor", display=xvfb.display, timeout=300)
    out = p.stdout
    assert "frozen bundle" in out, out
    assert f"models folder: {built['stage'] / '_internal' / 'models'} (inside the frozen bundle" in out, out
    assert "Traceback" not in p.stderr, p.stderr
    assert not [ln for ln in out.splitlines() if ln.startswith("FAIL")], out


def test_bundle_contents(built):
    stage = built["stage"]
    internal = stage / "_internal"
    for name in ("interview-guard.desktop", "interview-guard.png", "THIRD_PARTY_LICENSES.txt", "README.txt"):
        assert (stage / name).is_file(), name
    assert (internal / "assets" / "demo_interview.mp4").is_file()
    assert (internal / "mediapipe" / "tasks" / "c" / "libmediapipe.so").is_file()
    # build-time only, or not allowed: never in the bundle
    for forbidden in ("torch", "llvmlite", "sklearn", "interview_guard/training", "cv2/qt", "opencv_python.libs"):
        assert not (internal / forbidden).exists(), forbidden
    # (every registered detector is frozen in: the analyses below compare the detector lists)
    lic = (stage / "THIRD_PARTY_LICENSES.txt").read_text()
    for dist in ("mediapipe", "PySide6_Essentials", "opencv-python-headless", "numpy", "onnxruntime", "av", "scipy"):
        assert dist.lower().replace("_", "-") in lic.lower().replace("_", "-"), dist
    desktop = (stage / "interview-guard.desktop").read_text().splitlines()
    assert "Exec=interview-guard gui" in desktop and "Icon=interview-guard" in desktop, desktop


# --- analysis: frozen == source install ------------------------------------------------------------------

def _analyse_both(clip: Path, app: Path, home: Path, tmp_path: Path) -> tuple[dict, dict, list, list]:
    src_out, frz_out = tmp_path / "source", tmp_path / "frozen"
    ps = run_cli("analyze", str(clip), "--out", str(src_out), "--no-report", timeout=900)
    assert ps.returncode == 0, ps.stderr
    pf = frozen(app, home, "analyze", str(clip), "--out", str(frz_out), timeout=900)
    assert pf.returncode == 0, (pf.stdout, pf.stderr)
    assert "Traceback" not in pf.stderr, pf.stderr
    assert (frz_out / "report.html").is_file(), "the frozen app wrote no HTML report (matplotlib/Jinja missing?)"
    load = lambda d: (json.loads((d / "summary.json").read_text()),  # noqa: E731
                      [json.loads(ln) for ln in (d / "evidence.jsonl").read_text().splitlines() if ln.strip()])
    (s_src, e_src), (s_frz, e_frz) = load(src_out), load(frz_out)
    return s_src, s_frz, e_src, e_frz


def _per_detector(evidence: list[dict]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for e in evidence:
        out[e["detector"]].append(float(e.get("llr", 0.0)))
    return out


def assert_same_analysis(s_src: dict, s_frz: dict, e_src: list, e_frz: list) -> None:
    assert s_frz["complete"] and s_frz["error"] is None, s_frz.get("error")
    assert [d["id"] for d in s_frz["detectors"]] == [d["id"] for d in s_src["detectors"]]
    assert s_frz["frames_analysed"] == s_src["frames_analysed"]
    assert s_frz["frames_with_face"] > 0, "no face found: the landmarker (libmediapipe.so via ctypes) is not working"
    assert abs(s_frz["frames_with_face"] - s_src["frames_with_face"]) <= 1
    assert abs(s_frz["duration_s"] - s_src["duration_s"]) < 0.05
    for key, tol in (("yaw_deg_median", 1.0), ("pitch_deg_median", 1.0), ("size_px_median", 2.0),
                     ("sharpness_median", 0.2)):
        if key in s_src.get("face", {}):
            assert abs(s_frz["face"][key] - s_src["face"][key]) <= tol, (key, s_frz["face"][key], s_src["face"][key])
    assert s_frz["quality_events"] == s_src["quality_events"]
    assert s_frz["max_level"] == s_src["max_level"]
    assert abs(s_frz["evidence_count"] - s_src["evidence_count"]) <= 2
    a, b = _per_detector(e_src), _per_detector(e_frz)
    assert sorted(a) == sorted(b), (sorted(a), sorted(b))
    for det in a:
        assert abs(len(a[det]) - len(b[det])) <= 1, (det, len(a[det]), len(b[det]))
        ma, mb = sum(a[det]) / len(a[det]), sum(b[det]) / max(1, len(b[det]))
        assert abs(ma - mb) <= 0.1, (det, ma, mb)


def test_analyze_demo_clip_matches_source_install(app, home, tmp_path):
    s_src, s_frz, e_src, e_frz = _analyse_both(DEMO, app, home, tmp_path)
    assert_same_analysis(s_src, s_frz, e_src, e_frz)
    # the demo has speech: the speaker-change check (librosa's mel filterbank via the numba stand-in) ran
    assert any(e["detector"] == "speaker_change" for e in e_frz) or "speaker_change" not in \
        {d["id"] for d in s_src["detectors"]}


def test_analyze_corpus_clip_matches_source_install(app, home, tmp_path):
    require_corpus()
    clip = next(corpus_root().rglob(CORPUS_CLIP), None)
    assert clip is not None, f"{CORPUS_CLIP} not in the corpus at {corpus_root()}"
    s_src, s_frz, e_src, e_frz = _analyse_both(clip, app, home, tmp_path)
    assert_same_analysis(s_src, s_frz, e_src, e_frz)


# --- the desktop app ----------------------------------------------------------------------------------

def test_gui_shows_the_live_view(app, home, xvfb, tmp_path):
    shot = tmp_path / "gui.png"
    p = frozen(app, home, "gui", "--source", "demo", "--seconds", "3", "--screenshot", str(shot),
               display=xvfb.display, timeout=300)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    for bad in ("Could not load the Qt platform plugin", "Could not find the Qt platform plugin",
                "This application failed to start"):
        assert bad not in p.stderr, p.stderr
    assert shot.is_file() and shot.stat().st_size > 10_000
    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert not img.isNull() and img.width() >= 640 and img.height() >= 400, (img.width(), img.height())
    # non-blank: many distinct colours, and a video frame's worth of them in the largest panel
    small = img.scaled(160, 100)
    colours = {small.pixel(x, y) for x in range(small.width()) for y in range(small.height())}
    assert len(colours) > 200, f"screenshot looks blank ({len(colours)} colours)"


def test_live_runs_headless(app, home, xvfb, tmp_path):
    out = tmp_path / "live"
    p = frozen(app, home, "live", "--source", "demo", "--seconds", "6", "--out", str(out), display=xvfb.display,
               timeout=300)
    assert p.returncode == 0, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr, p.stderr
    s = json.loads((out / "summary.json").read_text())
    assert s["captured"] > 0, s


# --- a tampered model is refused, as in the source install ------------------------------------------------

def _tamper(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.unlink()                      # break a hard link before writing
    path.write_bytes(bytes(data))


def test_tampered_model_refused_like_source_install(built, home, tmp_path):
    # the bundle: a hard-linked copy (fast), with one model file replaced by a tampered copy
    copy = tmp_path / "bundle"
    subprocess.run(["cp", "-al", str(built["stage"]), str(copy)], check=True)
    model = _models()[0]
    _tamper(copy / "_internal" / "models" / model["file"])
    pf = frozen(copy / "interview-guard", home, "analyze", str(DEMO), "--out", str(tmp_path / "f"), timeout=300)
    frozen_line = assert_one_clear_error(pf, model["file"], "sha256")
    # the source install with the same tampering (a copy of models/ through IG_MODELS_DIR)
    mdir = tmp_path / "models"
    shutil.copytree(REPO / "models", mdir)
    _tamper(mdir / model["file"])
    ps = run_cli("analyze", str(DEMO), "--out", str(tmp_path / "s"), env={"IG_MODELS_DIR": str(mdir)}, timeout=300)
    source_line = assert_one_clear_error(ps, model["file"], "sha256")
    norm = lambda line, d: line.replace(str(d), "<models>")  # noqa: E731
    assert norm(frozen_line, copy / "_internal" / "models") == norm(source_line, mdir)

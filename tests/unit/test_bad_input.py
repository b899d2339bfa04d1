"""Bad recordings give one clear error line (exit code 2), no traceback, nothing half-written."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.helpers.cli import assert_one_clear_error, run_cli


def _write_video(path: Path, seconds: float = 2.0, *, audio: bool = False, video: bool = True) -> Path:
    rate = 25
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=rate) if video else None
        if vs is not None:
            vs.width, vs.height, vs.pix_fmt = 320, 240, "yuv420p"
        aus = c.add_stream("aac", rate=16000) if audio else None
        if vs is not None:
            for i in range(int(seconds * rate)):
                img = np.full((240, 320, 3), (i * 5) % 255, np.uint8)
                for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    c.mux(p)
            for p in vs.encode():
                c.mux(p)
        if aus is not None:
            t = np.arange(int(seconds * 16000)) / 16000
            samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            for k in range(0, len(samples), 1024):
                fr = av.AudioFrame.from_ndarray(samples[None, k:k + 1024], format="flt", layout="mono")
                fr.sample_rate = 16000
                for p in aus.encode(fr):
                    c.mux(p)
            for p in aus.encode():
                c.mux(p)
    return path


def _no_results(out: Path) -> None:
    if out.exists():
        leftovers = sorted(p.name for p in out.iterdir())
        assert leftovers == [], leftovers


def test_missing_file(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("analyze", str(tmp_path / "nope.mp4"), "--out", str(out))
    assert_one_clear_error(proc, "does not exist")
    _no_results(out)


def test_truncated_mp4(tmp_path):
    good = _write_video(tmp_path / "good.mp4", 3.0)
    bad = tmp_path / "truncated.mp4"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    out = tmp_path / "out"
    proc = run_cli("analyze", str(bad), "--out", str(out))
    assert_one_clear_error(proc, "truncated.mp4", "truncated")
    _no_results(out)


def test_garbage_file(tmp_path):
    bad = tmp_path / "notavideo.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(50_000))
    out = tmp_path / "out"
    proc = run_cli("analyze", str(bad), "--out", str(out))
    assert_one_clear_error(proc, "notavideo.mp4")
    _no_results(out)


def test_empty_file(tmp_path):
    bad = tmp_path / "empty.mp4"
    bad.write_bytes(b"")
    proc = run_cli("analyze", str(bad), "--out", str(tmp_path / "out"))
    assert_one_clear_error(proc, "empty")


def test_mp4_without_video_track(tmp_path):
    f = _write_video(tmp_path / "soundonly.mp4", 1.0, audio=True, video=False)
    out = tmp_path / "out"
    proc = run_cli("analyze", str(f), "--out", str(out))
    assert_one_clear_error(proc, "no video track", "audio")
    _no_results(out)


def test_audio_only_file(tmp_path):
    import soundfile as sf

    f = tmp_path / "speech.wav"
    sf.write(f, (0.1 * np.sin(np.arange(16000) / 10)).astype(np.float32), 16000)
    proc = run_cli("analyze", str(f), "--out", str(tmp_path / "out"))
    assert_one_clear_error(proc, "no video track")


def test_unwritable_output_is_a_clear_error(tmp_path):
    f = _write_video(tmp_path / "ok.mp4", 1.0)
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    proc = run_cli("analyze", str(f), "--out", str(blocker / "sub"))
    assert_one_clear_error(proc, "output folder")


def test_good_small_file_works(tmp_path):
    f = _write_video(tmp_path / "ok.mp4", 2.0, audio=True)
    out = tmp_path / "out"
    proc = run_cli("analyze", str(f), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    import json

    s = json.loads((out / "summary.json").read_text())
    assert s["frames_analysed"] == 10 and s["frames_with_face"] == 0      # 2 s at the default 5 frames/s
    assert abs(s["duration_s"] - 2.0) < 0.1
    assert s["max_level"] == "inconclusive"
    assert (out / "evidence.jsonl").exists()
    assert not list(out.glob("*.tmp-*"))

"""Model files are checked (size, sha256) and a bad one is named with a fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from interview_guard.core.errors import ModelError
from interview_guard.perception.model_store import ModelStore, default_models_dir
from tests.helpers.cli import assert_one_clear_error, run_cli


@pytest.fixture()
def models_copy(tmp_path) -> Path:
    dst = tmp_path / "models"
    shutil.copytree(default_models_dir(), dst)
    return dst


def test_shipped_models_verify():
    store = ModelStore()
    results = store.verify_all()
    assert {r[0] for r in results} >= {"face_landmarker", "hand_landmarker"}
    assert all(err is None for _, _, err in results)


def test_zero_byte_model_is_refused(models_copy):
    (models_copy / "face_landmarker.task").write_bytes(b"")
    with pytest.raises(ModelError) as e:
        ModelStore(models_copy).path("face_landmarker")
    msg = str(e.value)
    assert "face_landmarker.task" in msg and "empty" in msg and "git checkout" in msg


def test_tampered_model_is_refused(models_copy):
    p = models_copy / "hand_landmarker.task"
    data = bytearray(p.read_bytes())
    data[1000] ^= 0xFF  # same size, one byte changed
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError) as e:
        ModelStore(models_copy).path("hand_landmarker")
    assert "sha256" in str(e.value) and "hand_landmarker.task" in str(e.value)


def test_missing_model_is_refused(models_copy):
    (models_copy / "face_landmarker.task").unlink()
    with pytest.raises(ModelError, match="missing"):
        ModelStore(models_copy).path("face_landmarker")


def test_cli_refuses_tampered_model_with_one_line(models_copy, tmp_path):
    p = models_copy / "face_landmarker.task"
    p.write_bytes(p.read_bytes()[:-10] + b"0123456789")
    proc = run_cli("models", "verify", "--models-dir", str(models_copy))
    assert_one_clear_error(proc, "failed verification")
    assert "FAIL face_landmarker" in proc.stdout and "sha256" in proc.stdout
    demo = Path(__file__).resolve().parents[2] / "assets" / "demo_interview.mp4"
    out = tmp_path / "out"
    proc = run_cli("analyze", str(demo), "--out", str(out), env={"IG_MODELS_DIR": str(models_copy)})
    assert_one_clear_error(proc, "face_landmarker.task", "sha256")
    assert not (out / "summary.json").exists()


def test_cli_refuses_zero_byte_model(models_copy, tmp_path):
    (models_copy / "hand_landmarker.task").write_bytes(b"")
    demo = Path(__file__).resolve().parents[2] / "assets" / "demo_interview.mp4"
    proc = run_cli("analyze", str(demo), "--out", str(tmp_path / "o"), env={"IG_MODELS_DIR": str(models_copy)})
    assert_one_clear_error(proc, "hand_landmarker.task", "empty")

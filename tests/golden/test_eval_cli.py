"""``interview-guard eval`` end to end on a tiny corpus built from real corpus clips.

The temporary corpus holds symlinks to three DeepFaceLive side-by-side demos (real left half and
swapped right half, sharing a PAIR id), a broken "video" and a row whose file is missing. The
command must finish, warn about the two bad rows, write the issue's JSON schema, valid ROC
PNGs, scores.csv and metrics.json, and a second run must come from the cache with equal numbers.
"""

from __future__ import annotations

import csv
import json

import pytest

from tests.helpers.cli import assert_one_clear_error, run_cli
from tests.helpers.corpus import manifest_rows, require_corpus

pytestmark = pytest.mark.corpus

IDS = ["Dean_Wiesel_0", "Tim_Norland_0", "Natasha_Former_0"]  # short clips (2.9-5.5 s)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = ["file", "label", "kind", "source_repo", "source_path", "license", "duration_s",
          "width_x_height_or_sample_rate", "notes"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory):
    root = require_corpus()
    rows = {r["file"]: r for r in manifest_rows(root)}
    corpus = tmp_path_factory.mktemp("tiny_corpus")
    out_rows = []
    for pid in IDS:
        for label, name in (("video_real", f"dfl_{pid}_real_left.mp4"), ("video_fake_faceswap", f"dfl_{pid}_swap_right.mp4")):
            rel = f"{label}/{name}"
            assert rel in rows, rel
            (corpus / label).mkdir(exist_ok=True)
            (corpus / rel).symlink_to(root / rel)
            out_rows.append([rows[rel].get(h, "") for h in HEADER])
    (corpus / "video_real" / "dfl_broken_real_left.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 500)
    out_rows.append(["video_real/dfl_broken_real_left.mp4", "video_real", "video", "", "", "", "3.0", "", "broken"])
    out_rows.append(["video_fake_faceswap/dfl_missing.mp4", "video_fake_faceswap", "video", "", "", "", "", "", ""])
    with open(corpus / "MANIFEST.tsv", "w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(HEADER)
        w.writerows(out_rows)
    return corpus


@pytest.fixture(scope="module")
def eval_run(tiny_corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval_out")
    args = ["eval", "--corpus", str(tiny_corpus), "--out", str(out), "--json", str(out / "pairs.json"),
            "--sample-fps", "2", "--limit", "4", "--bootstrap", "200"]
    first = run_cli(*args, "--workers", "2", timeout=240)
    second = run_cli(*args, "--workers", "1", timeout=120)
    return out, first, second


def test_eval_runs_and_skips_bad_files_with_warnings(eval_run):
    out, proc, _ = eval_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    warns = [ln for ln in proc.stderr.splitlines() if ln.startswith("warning:")]
    assert any("dfl_broken_real_left.mp4" in ln for ln in warns), proc.stderr[-2000:]
    assert any("dfl_missing.mp4" in ln and "not found" in ln for ln in warns), proc.stderr[-2000:]
    assert "video_real | video_fake_faceswap: 3 real, 3 fake clips scored" in proc.stdout, proc.stdout
    assert "same-source PAIR" in proc.stdout and "face-size confound" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["clips"]["scored"] == 6
    assert metrics["clips"]["skipped_by_reason"] == {"failed to decode/score": 1, "missing file": 1}
    pair = metrics["pairs"]["video_real|video_fake_faceswap"]
    assert pair["same_source_pairs"]["n_groups"] == 3
    assert pair["detectors"]["baseline_smaller_face"]["n_real"] == 3


def test_eval_json_schema(eval_run):
    out, _, _ = eval_run
    text = (out / "pairs.json").read_text()
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid JSON constant {c}"))
    assert set(data) == {"pairs"}
    assert set(data["pairs"]) == {"video_real|video_fake_faceswap"}
    entry = data["pairs"]["video_real|video_fake_faceswap"]
    assert "fused" in entry
    for det, m in entry.items():
        assert {"auc", "eer", "tpr_at_1pct_fpr", "n_real", "n_fake"} <= set(m), det
        assert isinstance(m["n_real"], int) and isinstance(m["n_fake"], int)
        for k in ("auc", "eer", "tpr_at_1pct_fpr"):
            assert m[k] is None or (isinstance(m[k], float) and 0.0 <= m[k] <= 1.0), (det, k, m[k])
        if m["auc"] is not None:
            assert m["n_real"] > 0 and m["n_fake"] > 0


def test_eval_writes_valid_roc_png_and_scores_csv(eval_run):
    out, _, _ = eval_run
    png = out / "roc_video_real_vs_video_fake_faceswap.png"
    data = png.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 5000
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg

    img = mpimg.imread(png)
    assert img.ndim == 3 and img.shape[0] > 300 and img.shape[1] > 300
    with open(out / "scores.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by_status = {}
    for r in rows:
        by_status.setdefault(r["status"], []).append(r["file"])
    assert len(by_status["ok"]) == 6
    assert by_status["failed"] == ["video_real/dfl_broken_real_left.mp4"]
    assert by_status["skipped"] == ["video_fake_faceswap/dfl_missing.mp4"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert all(float(r["face_size_median"]) > 30 for r in ok)


def test_second_run_comes_from_cache_with_equal_numbers(eval_run):
    out, first, second = eval_run
    assert second.returncode == 0, second.stderr[-3000:]
    if "raised on" not in first.stderr:  # clips where a detector crashed are deliberately not cached
        assert "(6 from cache)" in second.stdout, second.stdout[:2000]
    # the table is identical apart from the timing line
    strip = lambda s: [ln for ln in s.splitlines() if not ln.startswith("scored ") and not ln.startswith("wrote ")]  # noqa: E731
    assert strip(first.stdout) == strip(second.stdout)


def test_eval_unknown_detector_is_one_clear_error(tiny_corpus, tmp_path):
    proc = run_cli("eval", "--corpus", str(tiny_corpus), "--out", str(tmp_path), "--detectors", "no_such_detector",
                   timeout=120)
    assert_one_clear_error(proc, "no_such_detector")


def test_eval_missing_manifest_is_one_clear_error(tmp_path):
    proc = run_cli("eval", "--corpus", str(tmp_path), "--out", str(tmp_path / "o"), timeout=120)
    assert_one_clear_error(proc, "MANIFEST.tsv")

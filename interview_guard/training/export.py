"""Export the trained net to ONNX and write its row in ``models/manifest.json``.

The ONNX graph has one input ``face`` ``(N, 3, 128, 128)`` float32 RGB in [0, 1] and one output
``logit`` ``(N, 1)``; opset 17, dynamic batch. Only the classifier is exported (no auxiliary
boundary head). ``update_manifest`` replaces or appends the ``face_swap_cnn`` row and leaves
every other row byte-for-byte as it was parsed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

MODEL_ID = "face_swap_cnn"
MODEL_FILE = "face_swap_cnn.onnx"
OPSET = 17
CONTRACT = ("onnxruntime; input 'face' float32 [N,3,128,128] RGB in [0,1], NCHW, the face aligned to the "
            "ArcFace 5-point template with context: perception.face_geometry.aligned_crop(frame, landmarks, 128, "
            "scale=0.75) (perception.crops.aligned_face(obs, 128, scale=0.75)); output 'logit' float32 [N,1], "
            "> 0 leans blended/swapped; llr = calibration.slope * logit + calibration.intercept")


def export_onnx(model, path: Path) -> None:
    import warnings

    import torch

    from interview_guard.training.face_model import INPUT_NAME, INPUT_SIZE, OUTPUT_NAME

    model = model.eval()
    dummy = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.onnx")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, dummy, str(tmp), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          opset_version=OPSET, dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}},
                          do_constant_folding=True, dynamo=False)
    os.replace(tmp, path)


def ort_session(path: Path, threads: int = 1):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def ort_logits(sess, x_uint8_nhwc: np.ndarray, batch: int = 64) -> np.ndarray:
    out = []
    name = sess.get_inputs()[0].name
    for i in range(0, len(x_uint8_nhwc), batch):
        x = x_uint8_nhwc[i:i + batch].astype(np.float32).transpose(0, 3, 1, 2) / np.float32(255.0)
        out.append(sess.run(None, {name: np.ascontiguousarray(x)})[0][:, 0])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def manifest_row(onnx_path: Path, *, report: dict) -> dict:
    from interview_guard.perception.model_store import sha256_of

    return {
        "id": MODEL_ID,
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        "bytes": onnx_path.stat().st_size,
        "licence": "Apache-2.0 (interview-guard's own model, trained by the project)",
        "source": "trained by interview-guard: recipe `scripts/train-face-model` "
                  "(python -m interview_guard.training.train_face_model --out models/), "
                  f"seed {report['seed']}, generator config {report['gen_key']}",
        "contract": CONTRACT,
        "training_data": report["training_data"],
        "quality": {"pseudo_fake_val": report["val"]},
        "calibration": report["calibration"],
        "params": report["params"],
    }


def update_manifest(models_dir: Path, row: dict) -> Path:
    p = Path(models_dir) / "manifest.json"
    data = json.loads(p.read_text()) if p.is_file() else {"schema": 1, "models": []}
    rows = [r for r in data["models"] if r.get("id") != row["id"]]
    old = next((r for r in data["models"] if r.get("id") == row["id"]), None)
    if old is not None and old.get("sha256") == row["sha256"] and "quality" in old:
        row = dict(row, quality={**old["quality"], **row["quality"]})   # same file: keep corpus numbers
    rows.append(row)
    data["models"] = rows
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, p)
    return p

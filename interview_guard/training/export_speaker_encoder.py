"""Export the GE2E speaker encoder (Resemblyzer's pretrained weights) to ONNX.

Build time only (torch). The model definition is the project's own, written from the GE2E
description (Wan et al., ICASSP 2018) and Resemblyzer's hyper-parameters: a 3-layer LSTM with
256 units over 40 mel bands (16 kHz, 25-ms window, 10-ms hop, *power* mel, not log), the last
layer's final hidden state → linear 256 → ReLU → L2 normalisation. Partials are 160 frames
(1.6 s). The state dict in ``resemblyzer_pretrained.pt`` (Apache-2.0, PyPI resemblyzer 0.1.4)
has exactly these tensors (``lstm.*``, ``linear.*``; the GE2E similarity scale/bias are
training-only and not exported).

    python -m interview_guard.training.export_speaker_encoder \
        [--weights ../shared/models/resemblyzer_pretrained.pt] [--out models/speaker_encoder.onnx]

The ONNX takes ``mels`` (batch, frames, 40) float32 and returns ``embedding`` (batch, 256),
L2-normalised. The export checks ONNX against torch on random and real-looking inputs (max
abs difference ≤ 1e-4) and updates the ``speaker_encoder`` row of ``models/manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WEIGHTS = REPO.parent / "shared" / "models" / "resemblyzer_pretrained.pt"
DEFAULT_OUT = REPO / "models" / "speaker_encoder.onnx"
MODEL_ID = "speaker_encoder"
N_MELS = 40
HIDDEN = 256
LAYERS = 3
EMBED = 256
PARTIAL_FRAMES = 160


class GE2EEncoder(nn.Module):
    """(B, T, 40) power-mel frames → (B, 256) L2-normalised speaker embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(N_MELS, HIDDEN, LAYERS, batch_first=True)
        self.linear = nn.Linear(HIDDEN, EMBED)

    def forward(self, mels: torch.Tensor) -> torch.Tensor:
        _, (h, _) = self.lstm(mels)
        e = torch.relu(self.linear(h[-1]))
        # eps keeps an all-zero ReLU output finite (it never happens on speech)
        return e / torch.sqrt((e * e).sum(dim=1, keepdim=True) + 1e-12)


def load_encoder(weights: Path) -> GE2EEncoder:
    ckpt = torch.load(str(weights), map_location="cpu", weights_only=False)
    state = ckpt.get("model_state", ckpt) if isinstance(ckpt, dict) else ckpt
    state = {k: v for k, v in state.items() if k.startswith(("lstm.", "linear."))}
    model = GE2EEncoder()
    model.load_state_dict(state, strict=True)
    model.eval()
    return model


def export(weights: Path, out: Path, *, check_wav: Path | None = None) -> dict:
    torch.set_num_threads(1)
    model = load_encoder(weights)
    dummy = torch.rand(2, PARTIAL_FRAMES, N_MELS)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    torch.onnx.export(model, (dummy,), str(tmp), input_names=["mels"], output_names=["embedding"],
                      dynamic_axes={"mels": {0: "batch", 1: "frames"}, "embedding": {0: "batch"}},
                      opset_version=17, dynamo=False)
    import onnx

    m = onnx.load(str(tmp))
    m.producer_name = "interview-guard export_speaker_encoder"
    onnx.checker.check_model(m)
    onnx.save(m, str(tmp))
    tmp.replace(out)
    diff = verify(model, out, check_wav=check_wav)
    row = _manifest_row(out, diff)
    return row


def verify(model: GE2EEncoder, onnx_path: Path, *, check_wav: Path | None = None) -> float:
    """Max |ONNX − torch| over random mels and (if given) the project's mel front-end of a wav."""
    import onnxruntime as ort

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    batches = [rng.random((3, PARTIAL_FRAMES, N_MELS), dtype=np.float32) * 5.0,
               rng.random((1, 97, N_MELS), dtype=np.float32)]
    if check_wav is not None:
        from interview_guard.capture.recording import read_audio
        from interview_guard.perception.speaker import mel_frames, partial_mels

        mel = mel_frames(read_audio(check_wav))
        batches.append(partial_mels(mel))
    worst = 0.0
    for b in batches:
        with torch.no_grad():
            ref = model(torch.from_numpy(b)).numpy()
        got = sess.run(None, {"mels": b})[0]
        worst = max(worst, float(np.abs(ref - got).max()))
    if worst > 1e-4:
        raise SystemExit(f"ONNX export differs from torch by {worst:.2e} (> 1e-4)")
    return worst


def _manifest_row(out: Path, diff: float) -> dict:
    from interview_guard.perception.model_store import sha256_of

    return {
        "id": MODEL_ID,
        "file": out.name,
        "sha256": sha256_of(out),
        "bytes": out.stat().st_size,
        "licence": "Apache-2.0 (Resemblyzer weights, Resemble AI)",
        "source": "GE2E speaker encoder weights resemblyzer/pretrained.pt from the PyPI wheel resemblyzer 0.1.4 "
                  "(via ../shared/models/resemblyzer_pretrained.pt, sha256 39373b86…), exported to ONNX with the "
                  "project's own model definition by interview_guard/training/export_speaker_encoder.py",
        "contract": "onnxruntime; input mels (batch, frames, 40) float32 = librosa-style *power* mel spectrogram "
                    "(16 kHz, n_fft 400 (25 ms), hop 160 (10 ms), 40 Slaney mel bands, no log), frames = 160 for a "
                    "1.6-s partial; output embedding (batch, 256) float32, ReLU'd and L2-normalised; compare by "
                    "cosine similarity (perception/speaker.py)",
        "params": sum(int(np.prod(s)) for s in _param_shapes()),
        "onnx_vs_torch_max_abs_diff": float(f"{diff:.3g}"),
    }


def _param_shapes() -> list[tuple[int, ...]]:
    return [tuple(p.shape) for p in GE2EEncoder().parameters()]


def update_manifest(row: dict, manifest: Path) -> None:
    data = json.loads(manifest.read_text())
    rows = [r for r in data["models"] if r.get("id") != row["id"]]
    rows.append(row)
    data["models"] = rows
    tmp = manifest.with_suffix(".json.tmp-write")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(manifest)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--check-wav", type=Path, default=None,
                    help="also compare ONNX and torch on this recording's partials")
    ap.add_argument("--no-manifest", action="store_true", help="do not touch models/manifest.json")
    a = ap.parse_args(argv)
    if not a.weights.is_file():
        print(f"error: weights {a.weights} not found", file=sys.stderr)
        return 2
    row = export(a.weights, a.out, check_wav=a.check_wav)
    if not a.no_manifest:
        update_manifest(row, a.out.parent / "manifest.json")
    print(json.dumps(row, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The face-swap CNN (torch; build time only — the runtime loads the exported ONNX).

A plain conv net (3x3 conv + BatchNorm + ReLU, stride-2 downsampling), ~0.3 M parameters, for
CPU training and ~2–4 ms inference per face on one core.

Input: ``(N, 3, 128, 128)`` float32 RGB in [0, 1], the aligned face crop with context
(``perception.crops.aligned_face(obs, 128, scale=0.75)``). The net prepends a fixed
high-pass residual channel (grey minus its 3x3 box blur) so seam and resampling traces are
visible to the first layer. Output: ``(N, 1)`` logit, > 0 leans "blended/swapped".

Training also uses an auxiliary head on the 32x32 feature map that predicts the blend
boundary map B = 4·M·(1−M) (Face X-ray); it is not exported.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

from interview_guard.training.pseudo_fakes import MODEL_CROP_SCALE as CROP_SCALE  # noqa: F401
from interview_guard.training.pseudo_fakes import MODEL_INPUT_SIZE as INPUT_SIZE  # noqa: F401

INPUT_NAME = "face"
OUTPUT_NAME = "logit"


def _cbr(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class FaceSwapNet(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        w = width
        self.s1 = nn.Sequential(_cbr(4, w, 2), _cbr(w, w))                    # 128 -> 64
        self.s2 = nn.Sequential(_cbr(w, 2 * w, 2), _cbr(2 * w, 2 * w))        # 64 -> 32
        self.s3 = nn.Sequential(_cbr(2 * w, 4 * w, 2), _cbr(4 * w, 4 * w))    # 32 -> 16
        self.s4 = nn.Sequential(_cbr(4 * w, 8 * w, 2), _cbr(8 * w, 8 * w))    # 16 -> 8
        self.head = nn.Linear(8 * w, 1)
        self.aux = nn.Conv2d(2 * w, 1, 1)       # boundary map at 32x32 (training only, not exported)
        self.register_buffer("mean", torch.tensor([0.5, 0.45, 0.4]).view(1, 3, 1, 1))
        self.register_buffer("box", torch.full((1, 1, 3, 3), 1.0 / 9.0))

    def _features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        g = x.mean(dim=1, keepdim=True)
        hp = (g - F.conv2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), self.box)) * 8.0
        z = torch.cat([(x - self.mean) * 4.0, hp], dim=1)
        f32 = self.s2(self.s1(z))
        z = self.s4(self.s3(f32))
        return z, f32

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, _ = self._features(x)
        return self.head(z.mean(dim=(2, 3)))

    def forward_train(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z, f32 = self._features(x)
        return self.head(z.mean(dim=(2, 3))), self.aux(f32)


def n_params(model: nn.Module, *, exported_only: bool = True) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if not (exported_only and n.startswith("aux.")))

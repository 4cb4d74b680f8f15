"""Bicubic upscaling as a "model": the baseline row of SR tables, scored through the same path as EDSR."""

from __future__ import annotations

import torch
from torch import nn


class Bicubic(nn.Module):
    """MATLAB `imresize(lr, scale, 'bicubic')` on uint8 levels, as published bicubic baselines were made."""

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale

    def receptive_radius(self) -> int:
        """The bicubic kernel reaches 2 LR pixels each way (MATLAB's cubic has support 4 when upscaling)."""
        return 2

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        from src.data.imresize import imresize_tensor

        return imresize_tensor(lr.round().clamp(0, 255), float(self.scale))

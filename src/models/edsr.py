"""EDSR (Lim et al., 2017) exactly as the official EDSR-PyTorch network, with a swappable block activation.

Same modules, same order, same default init and the same `state_dict` keys, so official weight files load
with `strict=True`. Inputs and outputs are RGB in [0, 255] (rgb_range 255).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from src.models.activations import make_activation
from src.models.receptive import conv_chain_radius

# DIV2K mean RGB, the constants EDSR subtracts at the input and adds back at the output.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def conv3x3(in_ch: int, out_ch: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=True)


class MeanShift(nn.Conv2d):
    """A frozen 1x1 conv that adds `sign * 255 * mean` per channel (a conv so the official keys exist)."""

    def __init__(self, sign: int, rgb_range: float = 255.0, rgb_mean: tuple[float, ...] = DIV2K_RGB_MEAN):
        super().__init__(3, 3, kernel_size=1)
        with torch.no_grad():
            self.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
            self.bias.copy_(sign * rgb_range * torch.tensor(rgb_mean))
        for p in self.parameters():
            p.requires_grad = False


class ResBlock(nn.Module):
    """conv - act - conv, scaled by `res_scale` and added to the input. The act is the study's variable."""

    def __init__(self, n_feats: int, act: nn.Module, res_scale: float = 1.0):
        super().__init__()
        self.body = nn.Sequential(conv3x3(n_feats, n_feats), act, conv3x3(n_feats, n_feats))
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) * self.res_scale


class Upsampler(nn.Sequential):
    """Sub-pixel convolution: x2 and x4 as one or two (conv F->4F, PixelShuffle(2)), x3 as conv F->9F, PS(3)."""

    def __init__(self, scale: int, n_feats: int):
        layers: list[nn.Module] = []
        if scale & (scale - 1) == 0:
            for _ in range(int(math.log2(scale))):
                layers += [conv3x3(n_feats, 4 * n_feats), nn.PixelShuffle(2)]
        elif scale == 3:
            layers += [conv3x3(n_feats, 9 * n_feats), nn.PixelShuffle(3)]
        else:
            raise ValueError(f"unsupported scale {scale}: EDSR upsamples by 2, 3 or a power of 2")
        super().__init__(*layers)


class EDSR(nn.Module):
    """Enhanced Deep Residual network. `act` names the residual-block activation, the only one in the net."""

    def __init__(
        self,
        scale: int,
        n_resblocks: int = 16,
        n_feats: int = 64,
        res_scale: float = 1.0,
        act: str = "relu",
        act_params: Mapping[str, object] | None = None,
        n_colors: int = 3,
        rgb_range: float = 255.0,
    ):
        super().__init__()
        self.scale = scale
        self.sub_mean = MeanShift(-1, rgb_range)
        self.add_mean = MeanShift(+1, rgb_range)
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        blocks: list[nn.Module] = [
            ResBlock(n_feats, make_activation(act, n_feats, **dict(act_params or {})), res_scale)
            for _ in range(n_resblocks)
        ]
        self.body = nn.Sequential(*blocks, conv3x3(n_feats, n_feats))
        self.tail = nn.Sequential(Upsampler(scale, n_feats), conv3x3(n_feats, n_colors))

    def receptive_radius(self) -> int:
        """LR pixels an output pixel depends on, each way: one per 3x3 conv (head, two per block, body end,
        upsampler convs); the last conv runs at HR and adds under one LR pixel, counted as one to stay safe."""
        return conv_chain_radius(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


def count_trainable(model: nn.Module) -> int:
    """Trainable parameters, the count papers report (EDSR's MeanShift convs are frozen and excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

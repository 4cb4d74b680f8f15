"""RDN (Zhang et al., CVPR 2018) as EDSR-PyTorch's `model/rdn.py`, with a swappable block activation.

Same modules, same order, same default init and the same `state_dict` keys as EDSR-PyTorch, so any file in
its RDN layout loads with `strict=True`. Inputs and outputs are RGB in [0, 255]; like EDSR-PyTorch's RDN
(and unlike its EDSR and RCAN) there is no mean shift.

What the activation swap touches: the ReLU after each 3x3 conv inside every residual dense block (D x C =
16 x 8 = 128 at configuration B). They are the only activations in RDN: shallow feature extraction, local
and global feature fusion and the upsampler are linear, so `activation.scope` changes nothing here.

Sizes keep EDSR's names, so that one override (`model.net.n_feats=...`, `experiment=smoke`) sizes every
model: `n_feats` is the paper's G0, `n_resblocks` its D (residual dense blocks), `n_layers` its C (convs per
block) and `growth` its G (growth rate). Configuration B, the paper's: D 16, C 8, G 64, G0 64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from src.models.activations import make_activation
from src.models.edsr import conv3x3
from src.models.receptive import conv_chain_radius


class DenseLayer(nn.Module):
    """conv 3x3 (in -> G) and the activation; its output is concatenated to its input (dense connection).
    The official module name is `conv`, a Sequential with the conv at 0 and the activation at 1."""

    def __init__(self, in_ch: int, growth: int, act: nn.Module):
        super().__init__()
        self.conv = nn.Sequential(conv3x3(in_ch, growth), act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((x, self.conv(x)), 1)


class RDB(nn.Module):
    """Residual dense block: C dense layers, local feature fusion (1x1 conv back to G0), plus the input."""

    def __init__(self, n_feats: int, growth: int, n_layers: int, make_act: Callable[[], nn.Module]):
        super().__init__()
        self.convs = nn.Sequential(*[DenseLayer(n_feats + c * growth, growth, make_act()) for c in range(n_layers)])
        self.LFF = nn.Conv2d(n_feats + n_layers * growth, n_feats, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.LFF(self.convs(x))


def _upsampler(scale: int, n_feats: int, growth: int, n_colors: int) -> nn.Sequential:
    """EDSR-PyTorch's UPNet: conv G0 -> G r^2 and PixelShuffle(r) (x4: two x2 stages), then conv G -> colours."""
    if scale in (2, 3):
        return nn.Sequential(
            conv3x3(n_feats, growth * scale * scale), nn.PixelShuffle(scale), conv3x3(growth, n_colors)
        )
    if scale == 4:
        return nn.Sequential(
            conv3x3(n_feats, growth * 4),
            nn.PixelShuffle(2),
            conv3x3(growth, growth * 4),
            nn.PixelShuffle(2),
            conv3x3(growth, n_colors),
        )
    raise ValueError(f"unsupported scale {scale}: RDN upsamples by 2, 3 or 4")


class RDN(nn.Module):
    """Residual Dense Network, configuration B by default. `act` names the activation of the dense layers."""

    def __init__(
        self,
        scale: int,
        n_resblocks: int = 16,
        n_layers: int = 8,
        growth: int = 64,
        n_feats: int = 64,
        act: str = "relu",
        act_params: Mapping[str, object] | None = None,
        n_colors: int = 3,
    ):
        super().__init__()
        params = dict(act_params or {})
        self.scale = scale
        self.SFENet1 = conv3x3(n_colors, n_feats)
        self.SFENet2 = conv3x3(n_feats, n_feats)
        self.RDBs = nn.ModuleList(
            RDB(n_feats, growth, n_layers, lambda: make_activation(act, growth, **params)) for _ in range(n_resblocks)
        )
        # Global feature fusion: 1x1 over the concatenated block outputs, then 3x3.
        self.GFF = nn.Sequential(nn.Conv2d(n_resblocks * n_feats, n_feats, 1), conv3x3(n_feats, n_feats))
        self.UPNet = _upsampler(scale, n_feats, growth, n_colors)

    def receptive_radius(self) -> int:
        """LR pixels an output pixel depends on, each way: every 3x3 conv lies on the longest path (a dense
        block's last layer sees the output of all earlier ones)."""
        return conv_chain_radius(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.SFENet1(x)
        x = self.SFENet2(shallow)
        outputs = []
        for block in self.RDBs:
            x = block(x)
            outputs.append(x)
        # Global residual learning: the fused features plus the first shallow features.
        return self.UPNet(self.GFF(torch.cat(outputs, 1)) + shallow)

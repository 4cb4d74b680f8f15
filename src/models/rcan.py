"""RCAN (Zhang et al., ECCV 2018) as EDSR-PyTorch's `model/rcan.py`, with a swappable block activation.

Same modules, same order, same default init and the same `state_dict` keys as EDSR-PyTorch (and the
authors' RCAN code, whose released weights, e.g. RCAN_BIX2.pt, are files of this state dict), so those files
load with `strict=True`. Inputs and outputs are RGB in [0, 255].

What the activation swap touches: the activation between the two convolutions of every RCAB (10 x 20 = 200
of them at the paper's size). The channel attention keeps its sigmoid gate always; the ReLU in its squeeze
(1x1 conv C -> C/r, ReLU, 1x1 conv C/r -> C) is swapped only with `act_scope="all"`. Nothing else in RCAN
has an activation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import torch
from torch import nn

from src.contracts.errors import UserError
from src.models.activations import make_activation
from src.models.edsr import MeanShift, Upsampler, conv3x3
from src.models.receptive import conv_chain_radius

SCOPES = ("blocks", "all")


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation gate: global average pool, C -> C/r -> C with 1x1 convs, sigmoid, times x.

    `conv_du` holds the 1x1 convs at indices 0 and 2 (the official keys); index 1 is the squeeze's activation.
    """

    def __init__(self, n_feats: int, reduction: int, act: nn.Module):
        super().__init__()
        squeezed = n_feats // reduction
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(
            nn.Conv2d(n_feats, squeezed, 1), act, nn.Conv2d(squeezed, n_feats, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(self.avg_pool(x))


class RCAB(nn.Module):
    """Residual channel attention block: conv - act - conv - channel attention, plus the input (no scaling:
    EDSR-PyTorch's RCAB ignores res_scale, and the paper uses 1)."""

    def __init__(self, n_feats: int, reduction: int, act: nn.Module, squeeze_act: nn.Module):
        super().__init__()
        self.body = nn.Sequential(
            conv3x3(n_feats, n_feats), act, conv3x3(n_feats, n_feats), ChannelAttention(n_feats, reduction, squeeze_act)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    """`n_resblocks` RCABs and a conv, with a short skip connection around them."""

    def __init__(
        self,
        n_resblocks: int,
        n_feats: int,
        reduction: int,
        make_act: Callable[[], nn.Module],
        make_squeeze_act: Callable[[], nn.Module],
    ):
        super().__init__()
        blocks: list[nn.Module] = [RCAB(n_feats, reduction, make_act(), make_squeeze_act()) for _ in range(n_resblocks)]
        self.body = nn.Sequential(*blocks, conv3x3(n_feats, n_feats))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RCAN(nn.Module):
    """Residual Channel Attention Network; the paper's size is the default (10 groups x 20 RCABs, 64 features,
    reduction 16). `act` names the RCAB activation; `act_scope="all"` also puts it in the attention's squeeze."""

    def __init__(
        self,
        scale: int,
        n_resgroups: int = 10,
        n_resblocks: int = 20,
        n_feats: int = 64,
        reduction: int = 16,
        act: str = "relu",
        act_params: Mapping[str, object] | None = None,
        act_scope: str = "blocks",
        n_colors: int = 3,
        rgb_range: float = 255.0,
    ):
        super().__init__()
        if act_scope not in SCOPES:
            raise UserError(f"activation.scope={act_scope!r} is unknown; use one of {', '.join(SCOPES)}")
        if n_feats // reduction < 1:
            raise UserError(
                f"RCAN: n_feats {n_feats} // reduction {reduction} leaves no channel in the attention's squeeze; "
                "set model.net.reduction <= model.net.n_feats (model=rcan_small is sized for small runs)"
            )
        params = dict(act_params or {})
        squeezed = n_feats // reduction

        def block_act() -> nn.Module:
            return make_activation(act, n_feats, **params)

        def squeeze_act() -> nn.Module:
            # The published squeeze ReLU, unless the study's activation is meant to reach it too.
            return make_activation(act, squeezed, **params) if act_scope == "all" else nn.ReLU(inplace=True)

        self.scale = scale
        self.sub_mean = MeanShift(-1, rgb_range)
        self.add_mean = MeanShift(+1, rgb_range)
        self.head = nn.Sequential(conv3x3(n_colors, n_feats))
        groups: list[nn.Module] = [
            ResidualGroup(n_resblocks, n_feats, reduction, block_act, squeeze_act) for _ in range(n_resgroups)
        ]
        self.body = nn.Sequential(*groups, conv3x3(n_feats, n_feats))
        self.tail = nn.Sequential(Upsampler(scale, n_feats), conv3x3(n_feats, n_colors))

    def receptive_radius(self) -> int:
        """The radius of the convolution path, in LR pixels. The channel attention's global average pool sees
        the whole input, so a tiled output approaches the whole-image one with this much context but does not
        equal it exactly: each tile's attention weights come from the tile's own mean."""
        return conv_chain_radius(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))

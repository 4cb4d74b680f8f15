"""Receptive radius of plain convolutional SR networks, counted from their convolutions."""

from __future__ import annotations

from torch import nn


def conv_chain_radius(net: nn.Module) -> int:
    """LR pixels an output pixel depends on, each way, when every spatial convolution of `net` lies on one
    chain (EDSR, RCAN's groups and blocks, RDN's dense blocks, whose longest path runs through all their
    convolutions): each k x k conv adds (k // 2) * dilation. Convolutions after an upsampling step run at a
    finer grid and add less than that in LR pixels; counting them in full keeps the radius an upper bound."""
    return sum(
        (m.kernel_size[0] // 2) * m.dilation[0]
        for m in net.modules()
        if isinstance(m, nn.Conv2d) and m.kernel_size[0] > 1
    )

"""Model FLOPs counted from the convolutions, with forward hooks on every `nn.Conv2d`.

A convolution producing (N, Cout, Hout, Wout) from Cin input channels with a kh x kw kernel does
2 * kh * kw * (Cin / groups) * Cout * Hout * Wout * N floating-point operations (a multiply and an add per
weight per output value). A training step costs three times the forward: the backward computes the gradient
of the input and of the weights, each as much work as the forward. Everything else in EDSR (bias adds, the
activation, pixel shuffle, the loss) is well under 1% of that and is left out, as model-FLOP utilisation
(MFU) conventionally does.
"""

from __future__ import annotations

import torch
from torch import nn

TRAIN_FACTOR = 3


def conv_flops(conv: nn.Conv2d, output: torch.Tensor) -> int:
    n, c_out, h_out, w_out = output.shape
    kh, kw = conv.kernel_size
    return 2 * kh * kw * (conv.in_channels // conv.groups) * c_out * h_out * w_out * n


def forward_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    """FLOPs of the convolutions in one forward pass of `model` on `inputs` (run once, without grad)."""
    total = 0

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        nonlocal total
        total += conv_flops(module, output)

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def train_step_flops(model: nn.Module, *inputs: torch.Tensor) -> int:
    return TRAIN_FACTOR * forward_flops(model, *inputs)

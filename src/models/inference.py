"""Inference shared by validation, test, `src.evaluate` and `src.upscale`: fp32, tiling and self-ensemble.

Every scored or saved SR image comes from `super_resolve`, so a checkpoint gives the same numbers whichever
entry point runs it and whatever precision it was trained in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

Upscaler = Callable[[torch.Tensor], torch.Tensor]


def self_ensemble(fn: Upscaler, lr: torch.Tensor) -> torch.Tensor:
    """EDSR+ (x8): average the outputs over the 8 flips/transposes of the input, each mapped back."""
    out = None
    for transpose in (False, True):
        for flip_dims in ((), (-1,), (-2,), (-2, -1)):
            x = lr.transpose(-2, -1) if transpose else lr
            x = x.flip(flip_dims) if flip_dims else x
            y = fn(x)
            y = y.flip(flip_dims) if flip_dims else y
            y = y.transpose(-2, -1) if transpose else y
            out = y if out is None else out + y
    assert out is not None
    return out / 8


def receptive_radius(net: object) -> int:
    """How far, in LR pixels, an output pixel sees: the network's own `receptive_radius()` (a LightningModule
    is looked through to its `net`). Tiles given this much context reproduce the whole-image output."""
    inner = getattr(net, "net", net)
    radius = getattr(inner, "receptive_radius", None)
    if radius is None:
        raise ValueError(
            f"{type(inner).__name__} does not declare its receptive_radius(); pass tile_overlap= explicitly"
        )
    return int(radius())


def tiled(fn: Upscaler, lr: torch.Tensor, scale: int, tile: int, tile_overlap: int) -> torch.Tensor:
    """Run `fn` on `tile` x `tile` LR tiles, each with `tile_overlap` pixels of context on every side.

    Only each tile's centre is kept, so with context as wide as the network's receptive field
    (`receptive_radius`) the result matches the untiled output up to float rounding (convolution sums in
    another order), while memory is bounded by the tile size.
    """
    n, _, h, w = lr.shape
    out: torch.Tensor | None = None
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            y1, x1 = min(y0 + tile, h), min(x0 + tile, w)
            ys, xs = max(y0 - tile_overlap, 0), max(x0 - tile_overlap, 0)
            ye, xe = min(y1 + tile_overlap, h), min(x1 + tile_overlap, w)
            sr = fn(lr[..., ys:ye, xs:xe])
            if out is None:
                out = sr.new_empty(n, sr.shape[1], h * scale, w * scale)
            oy, ox = (y0 - ys) * scale, (x0 - xs) * scale
            out[..., y0 * scale : y1 * scale, x0 * scale : x1 * scale] = sr[
                ..., oy : oy + (y1 - y0) * scale, ox : ox + (x1 - x0) * scale
            ]
    assert out is not None
    return out


@contextmanager
def ieee_fp32_convolutions() -> Iterator[None]:
    """cuDNN runs fp32 convolutions in TF32 (a 10-bit mantissa) on Ampere and later GPUs by PyTorch's default,
    which flips uint8 roundings of the output and so moves per-image PSNR between a GPU and a CPU; fp32 scoring
    means IEEE fp32 there (benchmarks/gpu_check_eval.py compares the two devices)."""
    conv = getattr(torch.backends.cudnn, "conv", None)
    if conv is None or not hasattr(conv, "fp32_precision"):  # torch < 2.9: only the legacy flag exists
        with torch.backends.cudnn.flags(
            enabled=torch.backends.cudnn.enabled,
            benchmark=torch.backends.cudnn.benchmark,
            deterministic=torch.backends.cudnn.deterministic,
            allow_tf32=False,
        ):
            yield
        return
    before = conv.fp32_precision  # the new API only: mixing it with the legacy flag is an error in torch
    conv.fp32_precision = "ieee"
    try:
        yield
    finally:
        conv.fp32_precision = before


@torch.no_grad()
def super_resolve(
    net: Upscaler,
    lr: torch.Tensor,
    scale: int,
    tile: int | None = None,
    tile_overlap: int | None = None,
    ensemble: bool = False,
) -> torch.Tensor:
    """SR of an (N, 3, h, w) batch in [0, 255], optionally tiled and/or self-ensembled (tiles inside).

    Always in IEEE float32 (autocast off, no TF32 convolutions): Lightning runs validation and test inside the
    training precision's autocast, and bf16 (a grid step of 0.5-1 grey level above 64) moves PSNR by as much as
    the effects under study. `tile_overlap=None` gives each tile the network's receptive radius as context.
    """
    if tile and tile_overlap is None:
        tile_overlap = receptive_radius(net)

    def run(x: torch.Tensor) -> torch.Tensor:
        if tile and (x.shape[-2] > tile or x.shape[-1] > tile):
            return tiled(net, x, scale, tile, int(tile_overlap or 0))
        return net(x)

    with torch.autocast(lr.device.type, enabled=False), ieee_fp32_convolutions():
        lr = lr.float()
        return self_ensemble(run, lr) if ensemble else run(lr)

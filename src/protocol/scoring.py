"""Score any upscaler on named image sets: per-image and per-set PSNR/SSIM under the protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from src.data.datasets import load_pairs, to_tensor
from src.data.images import DEFAULT_MAX_PIXELS
from src.data.layout import set_dirs
from src.models.inference import super_resolve
from src.protocol.metrics import score, shave_for, summarize


def score_sets(
    net: Callable[[torch.Tensor], torch.Tensor],
    data_dir: Path,
    sets: Sequence[str],
    scale: int,
    *,
    tile: int | None = None,
    tile_overlap: int | None = None,
    self_ensemble: bool = False,
    device: torch.device | str = "cpu",
    cache_dir: Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    progress: Callable[[str], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """{set: {psnr_y, ssim_y, psnr_rgb, ssim_rgb, shave, images: {name: {...}}}}, as results.json holds it."""
    out: dict[str, dict[str, Any]] = {}
    for name in sets:
        shave = shave_for(name, scale)
        images: dict[str, dict[str, float]] = {}
        for pair in load_pairs(
            set_dirs(Path(data_dir), name, scale), scale, cache_dir=cache_dir, max_pixels=max_pixels
        ):
            lr = to_tensor(pair.lr, 3)[None].to(device)
            sr = super_resolve(net, lr, scale, tile, tile_overlap, self_ensemble)
            values = score(sr.cpu(), to_tensor(pair.hr)[None], shave)
            images[pair.name] = {k: float(v) for k, v in values.items()}
        out[name] = {**summarize(images), "shave": shave, "images": images}
        if progress is not None:
            progress(f"{name}: {out[name]['psnr_y']:.2f} dB / {out[name]['ssim_y']:.4f} (Y, {len(images)} images)")
    return out


def format_table(metrics: dict[str, dict[str, Any]]) -> str:
    """A plain-text table of set-level results (Y and RGB)."""
    lines = [f"{'set':<12}{'images':>7}{'PSNR-Y':>9}{'SSIM-Y':>9}{'PSNR-RGB':>10}{'SSIM-RGB':>10}{'shave':>7}"]
    for name, m in metrics.items():
        lines.append(
            f"{name:<12}{len(m['images']):>7}{m['psnr_y']:>9.2f}{m['ssim_y']:>9.4f}"
            f"{m['psnr_rgb']:>10.2f}{m['ssim_rgb']:>10.4f}{m['shave']:>7}"
        )
    return "\n".join(lines)

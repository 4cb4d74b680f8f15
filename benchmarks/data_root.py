"""Temporary data roots in the official DIV2K layout, filled with real photographs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from benchmarks.common import BENCHMARK_DIR, photo_mosaic, photos
from src.data.images import write_image
from src.data.imresize import downscale


def small_train_root(root: Path, limit: int | None = None) -> Path:
    """`root/DIV2K/DIV2K_train_HR/*.png`: the Set14 HR images (or scikit-image photos), no LR folder."""
    train = root / "DIV2K" / "DIV2K_train_HR"
    train.mkdir(parents=True, exist_ok=True)
    set14 = BENCHMARK_DIR / "Set14" / "HR"
    if set14.is_dir():
        for path in sorted(set14.glob("*.png"))[:limit]:
            shutil.copyfile(path, train / path.name)
    else:
        for name, image in photos()[:limit]:
            write_image(train / f"{name}.png", image)
    return root


def div2k_like_root(root: Path, count: int, height: int, width: int, scale: int) -> Path:
    """`count` DIV2K-sized photo mosaics as HR PNGs and their MATLAB-bicubic LR PNGs (`..._LR_bicubic/X{s}`)."""
    hr_dir = root / "DIV2K" / "DIV2K_train_HR"
    lr_dir = root / "DIV2K" / "DIV2K_train_LR_bicubic" / f"X{scale}"
    hr_dir.mkdir(parents=True, exist_ok=True)
    lr_dir.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        hr = photo_mosaic(height, width, seed=i)
        name = f"{i + 1:04d}"
        write_image(hr_dir / f"{name}.png", hr)
        write_image(lr_dir / f"{name}x{scale}.png", downscale(hr, scale))
    return root


def lr_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A real-photo LR input of the given size (the x2 LR of a DIV2K-sized mosaic, cropped)."""
    return downscale(photo_mosaic(2 * height, 2 * width, seed=seed), 2)

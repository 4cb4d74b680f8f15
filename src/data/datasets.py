"""Paired LR/HR images: decoded once (memmapped cache), random aligned training patches, whole test images."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from src.contracts.errors import UserError
from src.data.cache import cached_array
from src.data.images import DEFAULT_MAX_PIXELS
from src.data.layout import GET_DATA, SetDirs, list_images, set_images


@dataclass
class ImagePair:
    name: str
    hr: np.ndarray  # (H, W, C) uint8, C = 1 or 3; memmapped
    lr: np.ndarray  # (H // s, W // s, C) uint8


def _make_lr(scale: int):
    def make(hr: np.ndarray) -> np.ndarray:
        from src.data.imresize import downscale

        return downscale(hr, scale)

    return make


def load_pairs(
    dirs: SetDirs,
    scale: int,
    limit: int | None = None,
    cache_dir: Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    scored: bool = True,
) -> list[ImagePair]:
    """HR images of a set with their LR: the `LR_bicubic` file where present, else MATLAB bicubic of the HR.
    Images of a set that is `scored` (validation, test) must be large enough for the protocol's SSIM."""
    hr_files = set_images(dirs.hr, f"{dirs.name} HR folder")[:limit]
    if not hr_files:
        raise UserError(f"{dirs.name}: no images in {dirs.hr}; {GET_DATA}")
    pairs = []
    for hr_path in hr_files:
        hr = cached_array(hr_path, cache_dir=cache_dir, max_pixels=max_pixels)
        if min(hr.shape[:2]) < scale:
            raise UserError(
                f"{hr_path}: {hr.shape[1]}x{hr.shape[0]} is smaller than the scale {scale}; remove it from {dirs.hr}"
            )
        if scored:
            check_scorable(hr_path, hr.shape[0], hr.shape[1], dirs, scale)
        lr_path = dirs.lr / f"{hr_path.stem}x{scale}{hr_path.suffix}"
        if lr_path.is_file():
            lr = cached_array(lr_path, cache_dir=cache_dir, max_pixels=max_pixels)
        else:
            lr = cached_array(hr_path, f"lr_x{scale}", _make_lr(scale), cache_dir=cache_dir, max_pixels=max_pixels)
        expected = (hr.shape[0] // scale, hr.shape[1] // scale)
        if lr.shape[:2] != expected:
            raise UserError(
                f"{lr_path}: LR is {lr.shape[1]}x{lr.shape[0]} but HR {hr_path.name} at x{scale} needs "
                f"{expected[1]}x{expected[0]}; remove the LR file to have it made from the HR, or fix the pairing"
            )
        pairs.append(ImagePair(hr_path.stem, hr, lr))
    return pairs


def check_scorable(path: Path, height: int, width: int, dirs: SetDirs, scale: int) -> None:
    """One line naming an image too small for SSIM once cropped and shaved (`src.protocol.metrics`)."""
    from src.protocol.metrics import shave_for, smallest_scorable

    shave = shave_for(dirs.name, scale)
    need = smallest_scorable(scale, shave)
    if min(height, width) < need:
        raise UserError(
            f"{path}: {width}x{height} is too small to score at x{scale}: SSIM's 11x11 window needs at least "
            f"{need}x{need} pixels before the {shave}-pixel border is shaved; remove it from {dirs.hr}"
        )


def check_set_sizes(dirs: SetDirs, scale: int) -> None:
    """The size check of `load_pairs` from the image headers alone (nothing decoded), for the test sets
    before training starts: a set that cannot be scored fails now, not after the last step."""
    from PIL import Image

    if not dirs.hr.is_dir():
        return  # `load_pairs` names a missing set with the way to get it
    for path in list_images(dirs.hr):
        try:
            with Image.open(path) as im:
                width, height = im.size
        except (OSError, SyntaxError, ValueError):
            continue  # decoding it later names the problem
        check_scorable(path, height, width, dirs, scale)


def to_tensor(img: np.ndarray, channels: int | None = None) -> torch.Tensor:
    """(H, W, C) uint8 -> (C, H, W) float32 in [0, 255]; grey repeated to `channels` (the network is RGB)."""
    arr = np.ascontiguousarray(img)
    # Cached images are read-only memmaps; torch wants memory it may write, so read this view into RAM.
    t = torch.from_numpy(arr if arr.flags.writeable else arr.copy()).permute(2, 0, 1).float()
    if channels is not None and t.shape[0] != channels:
        t = t.expand(channels, -1, -1).contiguous()
    return t


class TrainPatches(Dataset):
    """Random aligned LR/HR patches with EDSR's augmentation (hflip, vflip, transpose; p = 0.5 each).

    Sample `g` is a pure function of (seed, g): its image comes from a per-cycle permutation of the images
    and its crop and flips from an RNG seeded with (seed, g). Workers, ranks and resumed runs therefore all
    draw exactly the samples an uninterrupted single-process run would.
    """

    def __init__(self, pairs: list[ImagePair], scale: int, patch_size: int, augment: bool = True, seed: int = 0):
        if not pairs:
            raise UserError(f"no training images; {GET_DATA}")
        small = [p.name for p in pairs if min(p.lr.shape[:2]) < patch_size]
        if small:
            raise UserError(
                f"training images smaller than the LR patch ({patch_size} px): {', '.join(small[:3])}; "
                "lower data.patch_size or remove them"
            )
        self.pairs, self.scale, self.patch_size, self.augment, self.seed = (
            pairs,
            scale,
            patch_size,
            augment,
            seed,
        )

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.pairs)
        image = np.random.default_rng((self.seed, 1, g // n)).permutation(n)[g % n]
        pair = self.pairs[image]
        rng = np.random.default_rng((self.seed, 2, g))
        p, s = self.patch_size, self.scale
        y = int(rng.integers(0, pair.lr.shape[0] - p + 1))
        x = int(rng.integers(0, pair.lr.shape[1] - p + 1))
        lr = np.asarray(pair.lr[y : y + p, x : x + p])
        hr = np.asarray(pair.hr[y * s : (y + p) * s, x * s : (x + p) * s])
        if self.augment:
            hflip, vflip, transpose = rng.random(3) < 0.5
            if hflip:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            if vflip:
                lr, hr = lr[::-1], hr[::-1]
            if transpose:
                lr, hr = lr.transpose(1, 0, 2), hr.transpose(1, 0, 2)
        return to_tensor(lr, 3), to_tensor(hr, 3)


class StepSampler(Sampler[int]):
    """Global sample indices for the next `length` samples, split over DDP ranks by striding.

    Indices continue from the optimiser step the run is at (`start_step()`), so the sample stream is a pure
    function of the step: a run resumed from any checkpoint, even mid-epoch, sees exactly the batches an
    uninterrupted run would.
    """

    def __init__(self, length: int, batch_size: int, start_step: Callable[[], int], rank: int = 0, world_size: int = 1):
        self.length, self.batch_size, self.start_step = length, batch_size, start_step
        self.rank, self.world_size = rank, world_size

    def __len__(self) -> int:
        return self.length // self.world_size

    def __iter__(self) -> Iterator[int]:
        start = self.start_step() * self.batch_size * self.world_size
        return iter(range(start + self.rank, start + self.length, self.world_size)[: len(self)])


class EvalImages(Dataset):
    """Whole images of one set for validation/testing: (index, LR as 3 channels, HR as stored)."""

    def __init__(self, name: str, pairs: list[ImagePair]):
        self.name, self.pairs = name, pairs

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.pairs]

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, i: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        pair = self.pairs[i]
        return i, to_tensor(pair.lr, 3), to_tensor(pair.hr)

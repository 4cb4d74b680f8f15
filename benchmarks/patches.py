"""`patches_speed_vs_png`: training patches/s of the decoded-cache pipeline against decoding PNGs per sample.

A: the project's `TrainPatches` over `load_pairs` (uint8 memmaps of the decoded cache).
B: the same crops from HR and LR PNGs opened and decoded for every sample (EDSR-PyTorch with `--ext img`).
C (context, no target): the same crops from the decoded arrays read whole for every sample, as EDSR-PyTorch's
default `--ext sep` does with its pickled arrays.
All three yield identical tensors for a sample index (checked), through the same DataLoader settings.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from benchmarks.common import interleaved
from benchmarks.data_root import div2k_like_root
from src.data.datasets import ImagePair, TrainPatches, load_pairs
from src.data.images import read_image
from src.data.layout import set_dirs

SCALE = 2
SEED = 0


class PerSampleLoad(Dataset):
    """TrainPatches' sample `g`, but loading its image pair from scratch for every sample.

    The image is chosen exactly as TrainPatches chooses it; the crop and flips are TrainPatches' own, applied
    to a one-image TrainPatches (whose only image is picked for every `g`, with the same per-sample RNG).
    """

    def __init__(
        self, pairs: list[ImagePair], patch: int, decode_png: bool, hr_files: list[Path], lr_files: list[Path]
    ):
        self.names = [p.name for p in pairs]
        self.arrays = [(Path(p.hr.filename), Path(p.lr.filename)) for p in pairs]
        self.files = list(zip(hr_files, lr_files, strict=True))
        self.patch, self.decode_png = patch, decode_png

    def __len__(self) -> int:
        return len(self.names)

    def _load(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if self.decode_png:
            hr_file, lr_file = self.files[i]
            return read_image(hr_file), read_image(lr_file)
        hr_file, lr_file = self.arrays[i]
        return np.load(hr_file), np.load(lr_file)

    def __getitem__(self, g: int) -> tuple[torch.Tensor, torch.Tensor]:
        n = len(self.names)
        i = int(np.random.default_rng((SEED, 1, g // n)).permutation(n)[g % n])
        hr, lr = self._load(i)
        return TrainPatches([ImagePair(self.names[i], hr, lr)], SCALE, self.patch, True, SEED)[g]


def _rate(dataset: Dataset, batch: int, batches: int, workers: int) -> float:
    """Patches/s of a fresh DataLoader, after `workers + 1` warm-up batches (worker start-up, first decode)."""
    warmup = workers + 1
    sampler = range((warmup + batches) * batch)  # sample g, as the training sampler numbers them from step 0
    loader = DataLoader(dataset, batch, sampler=sampler, num_workers=workers, drop_last=True)
    it = iter(loader)
    for _ in range(warmup):
        next(it)
    t0 = time.perf_counter()
    for _ in range(batches):
        next(it)
    elapsed = time.perf_counter() - t0
    del it
    return batches * batch / elapsed


def _check_same_samples(a: Dataset, *others: Dataset, count: int = 4) -> None:
    for g in range(count):
        lr, hr = a[g]
        for other in others:
            lr2, hr2 = other[g]
            if not (torch.equal(lr, lr2) and torch.equal(hr, hr2)):
                raise AssertionError(f"sample {g} differs between the loaders; the comparison would be unfair")


def bench(quick: bool = False) -> dict[str, Any]:
    if quick:
        count, (h, w), patch, batch = 2, (240, 320), 24, 4
        plan = {0: (4, 2, 1)}  # workers: (batches of A, batches of B, repeats)
    else:
        count, (h, w), patch, batch = 4, (1356, 2040), 48, 16
        plan = {0: (40, 2, 3), 2: (40, 4, 3)}
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = div2k_like_root(Path(tmp) / "data", count, h, w, SCALE)
        dirs = set_dirs(root, "DIV2K", SCALE, "train")
        pairs = load_pairs(dirs, SCALE, cache_dir=Path(tmp) / "cache")
        hr_files = sorted(dirs.hr.glob("*.png"))
        lr_files = [dirs.lr / f"{p.stem}x{SCALE}.png" for p in hr_files]
        cached = TrainPatches(pairs, SCALE, patch, True, SEED)
        png = PerSampleLoad(pairs, patch, True, hr_files, lr_files)
        whole = PerSampleLoad(pairs, patch, False, hr_files, lr_files)
        _check_same_samples(cached, png, whole)
        png_mb = sum(f.stat().st_size for f in hr_files) / len(hr_files) / 1e6
        for workers, (n_a, n_b, repeats) in plan.items():
            res = interleaved(
                lambda w=workers, n=n_a: _rate(cached, batch, n, w),
                lambda w=workers, n=n_b: _rate(png, batch, n, w),
                repeats,
            )
            key = "patches_speed_vs_png" + ("" if workers == 0 else f"_workers{workers}")
            out[key] = res.ratio
            out[f"workers{workers}"] = {
                "cache_patches_per_s": res.a,
                "png_patches_per_s": res.b,
                "runs": res.as_dict(),
            }
        n_a, _, repeats = plan[0]
        res = interleaved(lambda: _rate(cached, batch, n_a, 0), lambda: _rate(whole, batch, 2, 0), repeats)
        out["patches_speed_vs_whole_array"] = res.ratio
        out["whole_array_workers0"] = {"whole_array_patches_per_s": res.b, "runs": res.as_dict()}
    w0 = out["workers0"]
    out["summary"] = (
        f"{w0['cache_patches_per_s']:.0f} vs {w0['png_patches_per_s']:.1f} patches/s at 0 workers "
        f"({w}x{h} PNGs, batch {batch}, patch {patch})"
    )
    out["setup"] = {
        "images": f"{count} HR {w}x{h} RGB PNGs (mosaics of 12 resized real photos each, ~{png_mb:.1f} MB per "
        f"PNG, PIL default compression) with their x{SCALE} MATLAB-bicubic LR PNGs, in the DIV2K layout",
        "batch": batch,
        "lr_patch": patch,
        "augment": True,
        "headline": "patches_speed_vs_png is num_workers=0; the _workers2 figure uses 2 workers on both sides",
        "png": "HR and LR PNGs decoded with the project's read_image (PIL) for every sample, then the same crop",
        "whole_array": "context only: decoded .npy arrays read whole per sample (EDSR-PyTorch's default --ext sep)",
    }
    return out

"""LightningDataModule: DIV2K training patches, per-set validation and test images."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, DistributedSampler

from src.contracts.errors import UserError
from src.data.datasets import EvalImages, StepSampler, TrainPatches, check_set_sizes, load_pairs
from src.data.images import DEFAULT_MAX_PIXELS
from src.data.layout import check_scale, set_dirs


def per_device_batch(global_batch: int, world_size: int) -> int:
    """Samples each rank draws per step: `data.batch_size` is the global batch (EDSR's 16), so adding devices
    shortens the wall time and leaves the schedule (samples per step, learning rate, steps) as it is."""
    if global_batch % world_size:
        raise UserError(
            f"data.batch_size={global_batch} does not split over {world_size} devices; "
            "choose a batch size divisible by the device count"
        )
    return global_batch // world_size


class SRDataModule(pl.LightningDataModule):
    def __init__(
        self,
        data_dir: str,
        scale: int,
        seed: int = 0,
        train_set: str = "DIV2K",
        train_images: int | None = None,
        val_sets: Sequence[str] = ("DIV2K",),
        val_images: int | None = 10,
        test_sets: Sequence[str] = (),  # the study's list lives in conf/data/sr.yaml
        patch_size: int = 48,
        batch_size: int = 16,
        steps_per_epoch: int = 1000,
        num_workers: int = 4,
        augment: bool = True,
        pin_memory: bool | None = None,
        cache_dir: str | None = None,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
        bundled: str | None = None,
    ):
        super().__init__()
        check_scale(scale)
        self.data_dir, self.scale, self.seed = Path(data_dir), scale, seed
        self.train_set, self.train_images = train_set, train_images
        self.val_sets, self.val_images, self.test_sets = list(val_sets), val_images, list(test_sets)
        self.patch_size, self.batch_size, self.steps_per_epoch = patch_size, batch_size, steps_per_epoch
        self.num_workers, self.augment, self.pin_memory = num_workers, augment, pin_memory
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.max_pixels = max_pixels
        self.bundled = bundled
        self.train_data: TrainPatches | None = None
        self.val_data: list[EvalImages] = []
        self.test_data: list[EvalImages] = []

    def prepare_data(self) -> None:
        """A bundled data set (`data.bundled`) is written to `data_dir` once, on rank 0, before any reads."""
        if self.bundled:
            from src.data.demo import build_bundled

            build_bundled(self.bundled, self.data_dir)

    def _eval_sets(self, names: Sequence[str], limit: int | None) -> list[EvalImages]:
        return [EvalImages(name, self._pairs(name, "valid", limit)) for name in names]

    def _pairs(self, name: str, split: str, limit: int | None):
        dirs = set_dirs(self.data_dir, name, self.scale, split)
        return load_pairs(dirs, self.scale, limit, self.cache_dir, self.max_pixels, scored=split != "train")

    def setup(self, stage: str) -> None:
        if stage == "fit":
            if self.train_data is None:
                pairs = self._pairs(self.train_set, "train", self.train_images)
                self.train_data = TrainPatches(pairs, self.scale, self.patch_size, self.augment, self.seed)
            if not self.val_data:
                self.val_data = self._eval_sets(self.val_sets, self.val_images)
            for name in self.test_sets:  # the test stage comes after the last step: check its sizes now
                check_set_sizes(set_dirs(self.data_dir, name, self.scale, "valid"), self.scale)
        if stage == "validate" and not self.val_data:
            self.val_data = self._eval_sets(self.val_sets, self.val_images)
        if stage == "test" and not self.test_data:
            self.test_data = self._eval_sets(self.test_sets, None)

    def _world(self) -> tuple[int, int]:
        if self.trainer is not None:
            return self.trainer.global_rank, self.trainer.world_size
        return 0, 1

    def _global_step(self) -> int:
        return self.trainer.global_step if self.trainer is not None else 0

    def _loader_kwargs(self) -> dict:
        workers = self.num_workers
        pin = torch.cuda.is_available() if self.pin_memory is None else self.pin_memory
        return {"num_workers": workers, "pin_memory": pin, "persistent_workers": workers > 0}

    def train_dataloader(self) -> DataLoader:
        assert self.train_data is not None
        rank, world = self._world()
        batch = per_device_batch(self.batch_size, world)
        sampler = StepSampler(self.steps_per_epoch * self.batch_size, batch, self._global_step, rank, world)
        return DataLoader(self.train_data, batch, sampler=sampler, drop_last=True, **self._loader_kwargs())

    def _eval_loaders(self, sets: list[EvalImages]) -> list[DataLoader]:
        rank, world = self._world()
        kwargs = self._loader_kwargs() | {"persistent_workers": False}
        loaders = []
        for data in sets:
            # Ranks split the images; DistributedSampler pads with repeats, which the metrics drop by index.
            sampler = DistributedSampler(data, world, rank, shuffle=False) if world > 1 else None
            loaders.append(DataLoader(data, batch_size=1, sampler=sampler, **kwargs))
        return loaders

    def val_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.val_data)

    def test_dataloader(self) -> list[DataLoader]:
        return self._eval_loaders(self.test_data)

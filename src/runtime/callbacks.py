"""Lightning callbacks of ours: W&B image panels of validation crops, the job's identity in its checkpoints,
and a checkpoint on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.loggers import WandbLogger

from src.contracts.errors import Interrupted
from src.models.weights import IDENTITY_KEY
from src.protocol.metrics import quantize


def crop_panel(lr: torch.Tensor, sr: torch.Tensor, hr: torch.Tensor, scale: int, size: int) -> np.ndarray:
    """A centre crop side by side: MATLAB bicubic of the LR | SR | HR, (size, 3 * size, 3) uint8."""
    from src.data.imresize import imresize_tensor

    h, w = sr.shape[-2:]
    size = min(size - size % scale, h - h % scale, w - w % scale)
    y0, x0 = ((h - size) // 2) // scale * scale, ((w - size) // 2) // scale * scale
    lr_crop = lr[..., y0 // scale : (y0 + size) // scale, x0 // scale : (x0 + size) // scale]
    hr = hr[..., :h, :w].expand(3, -1, -1)  # grey HR shown as RGB
    views = [
        imresize_tensor(lr_crop, float(scale)),
        sr[..., y0 : y0 + size, x0 : x0 + size],
        hr[..., y0 : y0 + size, x0 : x0 + size],
    ]
    panel = torch.cat([quantize(v.float().cpu()) for v in views], dim=-1)
    return panel.permute(1, 2, 0).to(torch.uint8).numpy()


def same_size(panels: list[np.ndarray]) -> list[np.ndarray]:
    """Centre crops of the panels to the smallest height and width among them: W&B shows one list of images on
    one grid and warns at every validation when their sizes differ."""
    h = min(p.shape[0] for p in panels)
    w = min(p.shape[1] for p in panels) // 3 * 3  # keep the three views of a panel equally wide
    out = []
    for p in panels:
        third, keep = p.shape[1] // 3, w // 3
        y0, x0 = (p.shape[0] - h) // 2, (third - keep) // 2
        out.append(np.concatenate([p[y0 : y0 + h, k * third + x0 : k * third + x0 + keep] for k in range(3)], axis=1))
    return out


class ValidationImages(pl.Callback):
    """Log LR-bicubic / SR / HR crops of the first `n_images` images of the first validation set to W&B."""

    def __init__(self, n_images: int = 4, crop: int = 128):
        self.n_images, self.crop = n_images, crop
        self.panels: list[np.ndarray] = []
        self.captions: list[str] = []

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.panels, self.captions = [], []

    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if dataloader_idx != 0 or outputs is None or len(self.panels) >= self.n_images or not trainer.is_global_zero:
            return
        index, lr, hr = batch
        data = trainer.datamodule.val_data[0]
        self.panels.append(crop_panel(lr[0], outputs[0], hr[0], pl_module.scale, self.crop))
        self.captions.append(f"{data.name}/{data.names[int(index[0])]}: bicubic | SR | HR")

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not self.panels:
            return
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("val/crops", same_size(self.panels), step=trainer.global_step, caption=self.captions)


class StampIdentity(pl.Callback):
    """Write the job's identity (src/contracts/identity.py, run facts included) into every checkpoint: a rerun
    into the folder and an evaluation of the weights compare it with what they are asked to do."""

    def __init__(self, identity: dict[str, Any]):
        self.identity = identity

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[IDENTITY_KEY] = self.identity


class SaveOnSignal(pl.Callback):
    """SIGTERM (what SLURM sends on preemption and timeout) or SIGINT: finish the current optimiser step, save
    it as the job's last checkpoint, and stop with `Interrupted`, so the same command resumes from exactly that step.

    The handler only notes the signal; the save happens between steps, where the state is whole. Under
    submitit, its SIGUSR2 handler (requeue before the time limit) is called after the save.
    """

    def __init__(self, last: Path):
        self.last = Path(last)
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _note(self, signum: int, frame: Any) -> None:
        self.signum = signum

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.signum = None
        signals = [signal.SIGTERM, signal.SIGINT]
        if callable(signal.getsignal(signal.SIGUSR2)):
            signals.append(signal.SIGUSR2)
        try:
            self._previous = {s: signal.signal(s, self._note) for s in signals}
        except ValueError:  # not the main thread: signals cannot be caught here
            self._previous = {}

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any) -> None:
        stop = self.signum is not None
        if trainer.world_size > 1:  # a signal to any rank stops all of them at the same step
            stop = trainer.strategy.reduce_boolean_decision(stop, all=False)
        if not stop:
            return
        trainer.save_checkpoint(self.last)
        signum = self.signum or int(signal.SIGTERM)
        chained = self._previous.get(signal.SIGUSR2) if signum == signal.SIGUSR2 else None
        self._restore()
        if callable(chained):
            chained(signum, None)
        raise Interrupted(trainer.global_step, signum)

    def _restore(self) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore()

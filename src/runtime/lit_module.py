"""LightningModule around any SR network: L1 loss, Adam + step LR, per-set PSNR/SSIM under the protocol."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from src.models.inference import super_resolve
from src.protocol.metrics import METRICS, SetScores, score, shave_for, summarize


class SRModule(pl.LightningModule):
    def __init__(
        self,
        net: nn.Module,
        scale: int,
        lr: float = 1e-4,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        milestones: Sequence[int] = (200_000,),
        gamma: float = 0.5,
        skip_threshold: float | None = None,
        fused_adam: bool | None = None,
        tile: int | None = None,
        tile_overlap: int | None = None,
        channels_last: bool = False,
    ):
        super().__init__()
        self.net, self.scale = net, scale
        self.lr, self.betas, self.eps, self.weight_decay = lr, tuple(betas), eps, weight_decay
        self.milestones, self.gamma = list(milestones), gamma
        self.skip_threshold, self.fused_adam = skip_threshold, fused_adam
        self.tile, self.tile_overlap = tile, tile_overlap
        self.channels_last = channels_last
        self.loss_fn = nn.L1Loss()
        self.val_scores = nn.ModuleList()
        self.test_scores = nn.ModuleList()
        # Plain lists/dicts (no tensors) so checkpoints stay loadable with weights_only=True.
        self.history: dict[str, list[list[float]]] = {}
        self.loss_ema: float | None = None  # running loss of the skip guard (only kept when it is on)
        self._first_nonfinite: torch.Tensor | None = None
        self.skipped_batches = 0
        self.diverged_at: int | None = None
        self.test_results: dict[str, dict[str, Any]] = {}
        self.seconds_before = 0.0  # training time of earlier (resumed-from) runs of this job
        self._fit_t0: float | None = None

    # -- plumbing -------------------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        dm = self.trainer.datamodule
        if stage in ("fit", "validate") and len(self.val_scores) != len(dm.val_data):
            self.val_scores = nn.ModuleList(SetScores() for _ in dm.val_data).to(self.device)
        if stage == "test" and len(self.test_scores) != len(dm.test_data):
            self.test_scores = nn.ModuleList(SetScores() for _ in dm.test_data).to(self.device)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            lr = lr.contiguous(memory_format=torch.channels_last)
        return self.net(lr)

    def configure_optimizers(self) -> dict:
        fused = self.fused_adam if self.fused_adam is not None else self.device.type == "cuda"
        params = [p for p in self.parameters() if p.requires_grad]
        opt = torch.optim.Adam(
            params,
            lr=self.lr,
            betas=self.betas,
            eps=self.eps,
            weight_decay=self.weight_decay,
            fused=fused or None,
        )
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=self.milestones, gamma=self.gamma)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    def _record(self, key: str, value: float) -> None:
        self.history.setdefault(key, []).append([int(self.global_step), float(value)])

    @property
    def train_seconds(self) -> float:
        """Wall time spent in fit by this job, including runs it resumed from."""
        return self.seconds_before + (time.perf_counter() - self._fit_t0 if self._fit_t0 is not None else 0.0)

    def on_fit_start(self) -> None:
        self._fit_t0 = time.perf_counter()

    def on_fit_end(self) -> None:
        self.seconds_before, self._fit_t0 = self.train_seconds, None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["sr_state"] = {
            "history": self.history,
            "loss_ema": self.loss_ema,
            "skipped_batches": self.skipped_batches,
            "seconds": self.train_seconds,
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint.get("sr_state", {})
        self.history = state.get("history", {})
        self.loss_ema = state.get("loss_ema")
        self.skipped_batches = state.get("skipped_batches", 0)
        self.seconds_before = state.get("seconds", 0.0)

    # -- training ------------------------------------------------------------------------------------------
    def _any_rank(self, flag: bool) -> bool:
        if self.trainer.world_size > 1:
            return bool(self.trainer.strategy.reduce_boolean_decision(flag, all=False))
        return flag

    def _host_check_due(self) -> bool:
        """Steps at which training reads the loss on the host: every `log_every_n_steps` and the last step.
        Between them the loss stays on the device, so a GPU step never waits for the host."""
        every = max(self.trainer.log_every_n_steps, 1)
        last = 0 < self.trainer.max_steps <= self.global_step + 1  # max_steps is -1 when unbounded
        return self.global_step % every == 0 or last

    def _watch_nonfinite(self, loss: torch.Tensor) -> None:
        """Remember, on the device, the first step whose loss was not finite (-1: none yet)."""
        if self._first_nonfinite is None:
            self._first_nonfinite = torch.full((), -1, dtype=torch.long, device=loss.device)
        bad = ~torch.isfinite(loss) & (self._first_nonfinite < 0)
        self._first_nonfinite = torch.where(bad, self.global_step, self._first_nonfinite)

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor | None:
        lr, hr = batch
        loss = self.loss_fn(self(lr), hr)
        self._watch_nonfinite(loss.detach())
        # A non-finite loss would poison the weights; stop this job cleanly and let the sweep go on. It is seen
        # at the next host check, at most log_every_n_steps later; the step recorded is where it happened.
        # The skip guard reads the loss every step anyway, so with it on every step is a check.
        if self.skip_threshold is not None or self._host_check_due():
            first = int(self._first_nonfinite)
            if self._any_rank(first >= 0):
                self.diverged_at = first if first >= 0 else int(self.global_step)
                self.trainer.should_stop = True
                return None
            if self.global_step % max(self.trainer.log_every_n_steps, 1) == 0:
                self._record("train/loss", float(loss.detach()))
        if self.skip_threshold is not None and self._skip(float(loss.detach())):
            return None
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lr", self.optimizers().param_groups[0]["lr"])
        return loss

    def _skip(self, value: float) -> bool:
        """EDSR's skip_threshold: drop a batch whose loss is an outlier against the running loss. The decision
        needs the loss on the host every step, as in EDSR-PyTorch; it is off unless optim.skip_threshold is set."""
        if self.loss_ema is not None and self._any_rank(value > self.skip_threshold * self.loss_ema):
            self.skipped_batches += 1
            self.log("train/skipped_batches", float(self.skipped_batches))
            return True
        self.loss_ema = value if self.loss_ema is None else 0.99 * self.loss_ema + 0.01 * value
        return False

    # -- evaluation ----------------------------------------------------------------------------------------
    def _eval_step(self, scores: nn.ModuleList, names: list[str], batch, dataloader_idx: int) -> torch.Tensor:
        index, lr, hr = batch
        sr = super_resolve(self, lr, self.scale, self.tile, self.tile_overlap)
        scores[dataloader_idx].update(index, score(sr, hr, shave_for(names[dataloader_idx], self.scale)))
        return sr

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Returns the SR image for callbacks (W&B crops); Lightning keeps no reference to it."""
        return self._eval_step(
            self.val_scores, [d.name for d in self.trainer.datamodule.val_data], batch, dataloader_idx
        )

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step(self.test_scores, [d.name for d in self.trainer.datamodule.test_data], batch, dataloader_idx)

    def _per_set(self, scores: nn.ModuleList, sets) -> dict[str, dict[str, Any]]:
        out = {}
        for metric, data in zip(scores, sets, strict=True):
            images = {data.names[i]: v for i, v in metric.compute().items()}
            out[data.name] = {
                **summarize(images),
                "shave": shave_for(data.name, self.scale),
                "images": images,
            }
            metric.reset()
        return out

    def on_validation_epoch_end(self) -> None:
        results = self._per_set(self.val_scores, self.trainer.datamodule.val_data)
        for name, res in results.items():
            for k in METRICS:
                self.log(f"val/{name}/{k}", res[k], sync_dist=True, add_dataloader_idx=False)
                if not self.trainer.sanity_checking:
                    self._record(f"val/{name}/{k}", res[k])
        self.last_val_results = results

    def on_test_epoch_end(self) -> None:
        self.test_results = self._per_set(self.test_scores, self.trainer.datamodule.test_data)
        for name, res in self.test_results.items():
            for k in METRICS:
                self.log(f"test/{name}/{k}", res[k], sync_dist=True, add_dataloader_idx=False)

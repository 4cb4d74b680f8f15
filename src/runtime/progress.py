"""Training progress for logs: one plain line every N steps when stdout is not a terminal.

A redrawn progress bar writes a carriage-return update per refresh; in a file (CI, SLURM logs, `make demo > log`)
those accumulate into hundreds of kilobytes. A terminal keeps Lightning's bar (`trainer.enable_progress_bar`
defaults to `${isatty:}`) and this callback stays silent there.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from typing import Any

import lightning.pytorch as pl


def quiet_lightning_console() -> None:
    """Each of Lightning's messages once, through Hydra's handlers (console and the job's log file).

    Importing Lightning attaches its own console handler, so under Hydra every message printed twice; its
    advertising tip and a deprecation warning from its own internals say nothing about the job. Call after
    Lightning is imported.
    """
    if logging.getLogger().handlers:  # Hydra configured logging: let records propagate to its handlers only
        for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
            logger = logging.getLogger(name)
            for handler in list(logger.handlers):
                if type(handler) is logging.StreamHandler:
                    logger.removeHandler(handler)
            logger.propagate = True
    # Lightning's messages come from this child logger; a logger's filters do not see its children's records.
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, _DropTips) for f in rank_zero.filters):
        rank_zero.addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)` is deprecated")


class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Tip:" not in record.getMessage()


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def format_eta(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class ProgressLines(pl.Callback):
    """`[name] step N/M  loss L  S steps/s  ETA h:mm:ss` every `every_n_steps` optimiser steps, rank zero only.

    The loss is the value the module last logged (`train/loss`), so printing forces no extra device sync.
    """

    def __init__(self, every_n_steps: int = 50, enabled: bool | None = None, name: str = "") -> None:
        self.every_n_steps = max(1, int(every_n_steps))
        self.enabled = (not stdout_is_terminal()) if enabled is None else bool(enabled)
        self.name = name
        self._start: tuple[float, int] | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = (time.perf_counter(), int(trainer.global_step))

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        step = int(trainer.global_step)
        if not self.enabled or not trainer.is_global_zero or self._start is None:
            return
        if step % self.every_n_steps and step != trainer.max_steps:
            return
        print(self.line(trainer, step), flush=True)

    def line(self, trainer: pl.Trainer, step: int) -> str:
        t0, step0 = self._start or (time.perf_counter(), step)
        elapsed = time.perf_counter() - t0
        rate = (step - step0) / elapsed if elapsed > 0 else 0.0
        total = trainer.max_steps if trainer.max_steps and trainer.max_steps > 0 else None
        parts = [f"step {step}" + (f"/{total}" if total else "")]
        loss = trainer.callback_metrics.get("train/loss")
        if loss is not None:
            parts.append(f"loss {float(loss):.4g}")
        parts.append(f"{rate:.2f} steps/s")
        if total and rate > 0:
            parts.append(f"ETA {format_eta((total - step) / rate)}")
        prefix = f"[{self.name}] " if self.name else ""
        return prefix + "  ".join(parts)

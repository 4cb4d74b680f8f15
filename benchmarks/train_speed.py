"""`train_speed_vs_bare`: the project's training loop against a bare PyTorch loop, steps/s.

A: Lightning Trainer + SRModule + SRDataModule, built from the composed Hydra config (`experiment=smoke`
with the EDSR baseline network restored), reading real images through the decoded cache.
B: the same network, Adam and L1 loss with manual zero_grad/backward/step over batches already in memory.
Both start from the same seeded initial weights; the first `warmup` steps of every run are not timed.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from torch import nn

from benchmarks.common import PROJECT_ROOT, interleaved
from benchmarks.data_root import small_train_root
from src.contracts import resolvers
from src.runtime import fast_path
from src.runtime.lit_module import SRModule

resolvers.register()  # before Hydra composes any config

SCALE = 2
SEED = 0


class StepTimer(pl.Callback):
    """Times the steps after the first `warmup`, data loading and optimiser step included."""

    def __init__(self, warmup: int):
        self.warmup, self.t0, self.t1, self.steps = warmup, 0.0, 0.0, 0

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        now = time.perf_counter()
        if trainer.global_step == self.warmup:
            self.t0 = now
        self.t1, self.steps = now, trainer.global_step - self.warmup


def compose_config(
    data_dir: Path, out_dir: Path, patch: int, batch: int, steps: int, baseline: bool = True
) -> DictConfig:
    # smoke shrinks the network; the benchmark measures the real baseline (16 blocks, 64 features).
    net = ["model.net.n_resblocks=16", "model.net.n_feats=64"] if baseline else []
    overrides = [
        "experiment=smoke",
        "model=edsr_baseline",
        *net,
        "logger=none",
        f"scale={SCALE}",
        f"seed={SEED}",
        f"paths.data_dir={data_dir}",
        f"paths.output_dir={out_dir}",
        "data.val_sets=[]",
        f"data.patch_size={patch}",
        f"data.batch_size={batch}",
        f"data.steps_per_epoch={steps}",
        "data.num_workers=0",
        f"trainer.max_steps={steps}",
        "trainer.log_every_n_steps=50",  # the default trainer's, not smoke's per-step logging
    ]
    with initialize_config_dir(str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose("train", overrides=overrides)


def fit_project(cfg: DictConfig, callbacks: list[pl.Callback]) -> tuple[SRModule, pl.Trainer]:
    """One fresh `trainer.fit` with the project's own classes and fast path (`fast.*`), without validation,
    logger or checkpoints: the training step as a job runs it."""
    pl.seed_everything(SEED, workers=True, verbose=False)
    fast = fast_path.resolve(cfg.fast, cfg.trainer)
    datamodule = instantiate(cfg.data)
    net = instantiate(cfg.model.net)
    if fast.compile:
        net.compile()  # as src/runtime/job.py does
    module = SRModule(
        net,
        int(cfg.scale),
        **OmegaConf.to_container(cfg.optim, resolve=True),
        fused_adam=fast.fused_adam,
        channels_last=fast.channels_last,
    )
    trainer = instantiate(
        cfg.trainer,
        logger=False,
        callbacks=callbacks,
        precision=fast.precision,
        benchmark=fast.cudnn_benchmark,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        _convert_="partial",
    )
    trainer.fit(module, datamodule=datamodule)
    return module, trainer


def _project_run(cfg: DictConfig, warmup: int) -> float:
    """Steps/s of one fresh `trainer.fit` with the project's own classes."""
    timer = StepTimer(warmup)
    fit_project(cfg, [timer])
    return timer.steps / (timer.t1 - timer.t0)


def loader_batches(cfg: DictConfig) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The very batches the project's loader yields, collated once and kept in memory."""
    datamodule = instantiate(cfg.data)
    datamodule.setup("fit")
    return [(lr.clone(), hr.clone()) for lr, hr in datamodule.train_dataloader()]


def _bare_run(cfg: DictConfig, batches: list[tuple[torch.Tensor, torch.Tensor]], warmup: int) -> float:
    """Steps/s of a hand-written loop: same network, optimiser settings and loss."""
    pl.seed_everything(SEED, workers=True, verbose=False)
    net = instantiate(cfg.model.net)
    optim = cfg.optim
    opt = torch.optim.Adam(
        [p for p in net.parameters() if p.requires_grad],
        lr=optim.lr,
        betas=tuple(optim.betas),
        eps=optim.eps,
        weight_decay=optim.weight_decay,
    )
    loss_fn = nn.L1Loss()
    t0 = 0.0
    for i, (lr, hr) in enumerate(batches):
        if i == warmup:
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(net(lr), hr)
        loss.backward()
        opt.step()
    return (len(batches) - warmup) / (time.perf_counter() - t0)


def bench(quick: bool = False) -> dict[str, Any]:
    patch, batch = (16, 2) if quick else (24, 4)
    warmup, steps, repeats = (2, 5, 1) if quick else (5, 35, 5)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        tmp_path = Path(tmp)
        previous_cache = os.environ.get("SR_CACHE_DIR")
        os.environ["SR_CACHE_DIR"] = str(tmp_path / "cache")
        try:
            root = small_train_root(tmp_path / "data", limit=3 if quick else None)
            images = len(list((root / "DIV2K" / "DIV2K_train_HR").iterdir()))
            cfg = compose_config(root, tmp_path / "out", patch, batch, steps, baseline=not quick)
            batches = loader_batches(cfg)
            threads = torch.get_num_threads()
            result = interleaved(lambda: _project_run(cfg, warmup), lambda: _bare_run(cfg, batches, warmup), repeats)
            if torch.get_num_threads() != threads:
                raise RuntimeError("the Trainer changed torch's thread count; the comparison would be unfair")
        finally:
            if previous_cache is None:
                os.environ.pop("SR_CACHE_DIR", None)
            else:
                os.environ["SR_CACHE_DIR"] = previous_cache
    net = f"EDSR {cfg.model.net.n_resblocks} blocks, {cfg.model.net.n_feats} features, x{SCALE}"
    return {
        "summary": f"{result.a:.2f} vs {result.b:.2f} steps/s ({net}, batch {batch}, patch {patch})",
        "train_speed_vs_bare": result.ratio,
        "project_steps_per_s": result.a,
        "bare_steps_per_s": result.b,
        "runs": result.as_dict(),
        "setup": {
            "network": f"{net}, float32",
            "batch": batch,
            "lr_patch": patch,
            "timed_steps": steps - warmup,
            "warmup_steps": warmup,
            "num_workers": 0,
            "images": f"{images} real photos (Set14 HR, or scikit-image's) in the DIV2K layout, LR made by the cache",
            "project": "Lightning Trainer(experiment=smoke overrides) + SRModule + SRDataModule, no val/logger/ckpt",
            "bare": "same seeded net, Adam, L1; manual zero_grad/backward/step over in-memory batches",
        },
    }

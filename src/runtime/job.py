"""The body of one training job: build, fit (resuming if it can), test, record. Rank-aware, Hydra-free."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from src.contracts.errors import UserError
from src.contracts.results import DIVERGED, FINISHED, find_results, job_identity, make_results, write_results
from src.data.datamodule import per_device_batch
from src.models.edsr import count_trainable
from src.models.weights import init_from, read_state_dict
from src.runtime import fast_path
from src.runtime.callbacks import SaveOnSignal, StampIdentity
from src.runtime.checkpoints import LAST, AtomicCheckpointIO
from src.runtime.launch import is_rank_zero_process
from src.runtime.lit_module import SRModule
from src.runtime.loggers import build_loggers, finish, log_config, log_test_table
from src.runtime.progress import quiet_lightning_console

log = logging.getLogger(__name__)

# Our sampler derives every sample from the optimiser step (src/data/datasets.py:StepSampler), so a mid-epoch
# resume is exact and Lightning's warning about non-resumable dataloaders does not apply.
warnings.filterwarnings("ignore", message="You're resuming from a checkpoint that ended before the epoch ended")


def _sweep_group() -> str | None:
    """W&B group: the sweep directory's name, so one sweep's runs sit together."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
        return Path(hc.sweep.dir).name if hc.mode == RunMode.MULTIRUN else None
    except ValueError:  # no Hydra app around us (tests, rank workers)
        return None


def _init_checkpoint(cfg: DictConfig, identity: dict[str, Any]) -> Path | None:
    """`init_from`: a checkpoint file, or (`x2` = this sweep's directory, or any directory) the finished x2
    job of the same model, activation and seed, as EDSR starts x4 training from its x2 model."""
    spec = cfg.get("init_from")
    if not spec:
        return None
    if spec != "x2" and not Path(spec).is_dir():
        return Path(spec)
    if int(cfg.scale) == 2:
        return None
    root = Path(cfg.paths.output_dir).parent if spec == "x2" else Path(spec)
    match = {k: identity[k] for k in ("model", "activation", "seed")}
    job = find_results(root, scale=2, **match)
    if job is None:
        raise UserError(
            f"init_from={spec}: no finished x2 job of {match['model']}/{match['activation']}/seed {match['seed']} "
            f"under {root}; run the scale=2 jobs first (they come first in a sweep with scale=2,4), "
            "or pass init_from=null to train from scratch"
        )
    return job / "checkpoints" / "last.ckpt"


def _initialise(net: torch.nn.Module, cfg: DictConfig, identity: dict[str, Any]) -> dict[str, Any] | None:
    """`init_from`: load what fits, say loudly what did not, and return what results.json records of it."""
    start = _init_checkpoint(cfg, identity)
    if start is None:
        return None
    state, source = read_state_dict(start, "init_from")
    fresh = init_from(net, state, start)
    print(f"[{identity['name']}] starting from the weights of {start}", flush=True)
    if fresh:
        log.warning(
            "initialised from %s; %d tensor(s) kept their init (%s)",
            start,
            len(fresh),
            ", ".join(fresh[:4]) + (" ..." if len(fresh) > 4 else ""),
        )
    return {"path": str(start), "identity": source, "kept_init": fresh}


def weights_identity(cfg: DictConfig, identity: dict[str, Any], fast: fast_path.FastPath) -> dict[str, Any]:
    """What checkpoints record about the job that wrote them: the job identity, the network's size, the
    precision and the planned steps (`src.models.build` compares it with what an evaluation asks for)."""
    net = cfg.model.net
    # The network's size: every constructor argument but the activation (the identity has it) and the scale.
    size = {
        k: v for k, v in OmegaConf.to_container(net, resolve=True).items() if not k.startswith(("_", "act", "scale"))
    }
    return {**identity, **size, "precision": str(fast.precision), "max_steps": int(cfg.trainer.max_steps)}


def _build(
    cfg: DictConfig, fast: fast_path.FastPath, identity: dict[str, Any]
) -> tuple[SRModule, pl.LightningDataModule, dict[str, Any] | None]:
    datamodule = instantiate(cfg.data)
    net = instantiate(cfg.model.net)
    init = _initialise(net, cfg, identity)
    if fast.compile:
        net.compile()  # in place: state_dict keys stay those of the official layout
    module = SRModule(
        net,
        int(cfg.scale),
        **OmegaConf.to_container(cfg.optim, resolve=True),
        fused_adam=fast.fused_adam,
        tile=cfg.tile,
        tile_overlap=cfg.tile_overlap,
        channels_last=fast.channels_last,
    )
    return module, datamodule, init


def run_job(cfg: DictConfig) -> dict[str, Any]:
    """One job in this process (or as one rank of its world): what `src.train` and rank workers call."""
    return fit_and_test(cfg, Path(cfg.paths.output_dir), job_identity(cfg))


def fit_and_test(cfg: DictConfig, out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    quiet_lightning_console()
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    fast = fast_path.resolve(cfg.fast, cfg.trainer)
    module, datamodule, init = _build(cfg, fast, identity)
    rank_zero = is_rank_zero_process()
    loggers = build_loggers(
        cfg,
        out,
        {
            "name": identity["name"],
            "group": _sweep_group(),
            "tags": [identity["activation"], f"x{identity['scale']}", identity["model"]],
        },
        is_rank_zero=rank_zero,
    )
    last = out / "checkpoints" / LAST
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    callbacks += [StampIdentity(weights_identity(cfg, identity, fast)), SaveOnSignal(last)]
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        logger=loggers or False,
        callbacks=callbacks,
        precision=fast.precision,
        benchmark=fast.cudnn_benchmark,
        plugins=[AtomicCheckpointIO()],
        _convert_="partial",
    )
    resume = last if last.is_file() else None  # readable: src.train set damaged checkpoints aside
    if resume is not None:
        log.info("resuming from %s", resume)
        print(f"[{identity['name']}] resuming from {resume}", flush=True)
    summary: dict[str, Any] = {}
    try:
        # What else makes two jobs comparable: precision and the batch as the ranks split it (results.json, W&B).
        run = {
            "precision": fast.precision,
            "batch": {
                "global": datamodule.batch_size,
                "per_device": per_device_batch(datamodule.batch_size, trainer.world_size),
            },
            "world_size": int(trainer.world_size),
        }
        log_config(loggers, OmegaConf.create(OmegaConf.to_container(cfg, resolve=True) | run))
        trainer.fit(module, datamodule=datamodule, ckpt_path=resume, weights_only=True)
        if trainer.interrupted:
            raise KeyboardInterrupt
        status = DIVERGED if module.diverged_at is not None else FINISHED
        if status == FINISHED:
            trainer.test(module, datamodule=datamodule, verbose=False)
        seconds = module.train_seconds
        steps = int(trainer.global_step)
        results = make_results(
            **identity,
            status=status,
            diverged_at_step=module.diverged_at,
            params=count_trainable(module.net),
            **run,
            train={
                "steps": steps,
                "seconds": seconds,
                "samples_per_second": steps * datamodule.batch_size / seconds if seconds else None,
                "skipped_batches": module.skipped_batches,
            },
            metrics=module.test_results,
            history=module.history,
            config=OmegaConf.to_container(cfg, resolve=True),
        )
        if init is not None:
            results["init_from"] = init
        log_test_table(loggers, module.test_results)
        summary = {
            "params": results["params"],
            "status": status,
            **{f"train/{k}": v for k, v in results["train"].items() if v is not None},
            **{f"test/{s}/{k}": v for s, m in module.test_results.items() for k, v in m.items() if k != "images"},
        }
        if trainer.is_global_zero:
            write_results(out, results)
            _report_line(results, out)
        return results
    finally:
        finish(loggers, summary, ok=bool(summary))
        if torch.distributed.is_available() and torch.distributed.is_initialized() and not rank_zero:
            torch.distributed.destroy_process_group()


def _report_line(results: dict[str, Any], out: Path) -> None:
    """One line per finished job, so a sweep's progress reads at a glance."""
    head = f"[{results['name']}] {results['status']} after {results['train']['steps']} steps"
    if results["status"] == DIVERGED:
        print(f"{head}: non-finite loss at step {results['diverged_at_step']} -> {out}", flush=True)
        return
    scores = ", ".join(f"{s} {m['psnr_y']:.2f} dB / {m['ssim_y']:.4f}" for s, m in results["metrics"].items())
    print(f"{head} ({results['train']['seconds']:.0f}s): {scores} -> {out}", flush=True)

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
from src.contracts.identity import SEED, WEIGHTS, job_identity, only, run_facts, without
from src.contracts.results import DIVERGED, FINISHED, find_results, job_labels, make_results, write_results
from src.contracts.rundir import RunDir
from src.data.datamodule import per_device_batch
from src.models.edsr import count_trainable
from src.models.weights import load_fitting, read_state_dict
from src.runtime import fast_path
from src.runtime.callbacks import SaveOnSignal, StampIdentity
from src.runtime.checkpoints import AtomicCheckpointIO
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


def init_checkpoint(cfg: DictConfig, identity: dict[str, Any]) -> Path | None:
    """What `init_from` means, in one place: the weights the job starts from. null: none (from scratch); a
    file: that checkpoint; `x2` (this sweep's folder) or a folder: the last checkpoint of the finished x2 job
    there with this job's network and seed, as EDSR starts x4 training from its x2 model (none at x2). The x2
    job's schedule may differ: an x4 job started from x2 weights needs fewer steps."""
    spec = cfg.get("init_from")
    if not spec:
        return None
    if spec != "x2" and not Path(spec).is_dir():
        return Path(spec)
    if int(cfg.scale) == 2:
        return None
    root = Path(cfg.paths.output_dir).parent if spec == "x2" else Path(spec)
    job = find_results(root, lambda record: record.get("scale") == 2 and _is_x2_twin(record, cfg, identity))
    if job is None:
        raise UserError(
            f"init_from={spec}: no finished x2 job under {root} with this job's network and seed; run the scale=2 "
            "jobs first (they come first in a sweep with scale=2,4), or pass init_from=null to train from scratch"
        )
    return job.last_checkpoint


def _is_x2_twin(record: dict[str, Any], cfg: DictConfig, identity: dict[str, Any]) -> bool:
    """Whether a finished job's network (`WEIGHTS` but the scale) and seed are this job's. Only the x2 job's
    keys are looked up: a rank's resolved config also holds copies (`model.net.act`)."""
    if "identity" not in record:  # written before identities: the labels are all it has
        return all(record.get(k) == job_labels(cfg)[k] for k in ("model", "activation", "seed"))
    theirs = without(only(record["identity"], *WEIGHTS, SEED), "scale")
    return all(k in identity and identity[k] == v for k, v in theirs.items())


def _initialise(net: torch.nn.Module, cfg: DictConfig, identity: dict[str, Any]) -> dict[str, Any] | None:
    """`init_from`: load what fits, say loudly what did not, and return what results.json records of it."""
    start = init_checkpoint(cfg, identity)
    if start is None:
        return None
    state, source = read_state_dict(start, "init_from")
    fresh = load_fitting(net, state, start)
    print(f"[{job_labels(cfg)['name']}] starting from the weights of {start}", flush=True)
    if fresh:
        log.warning(
            "initialised from %s; %d tensor(s) kept their init (%s)",
            start,
            len(fresh),
            ", ".join(fresh[:4]) + (" ..." if len(fresh) > 4 else ""),
        )
    return {"path": str(start), "identity": source, "kept_init": fresh}


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


def _trainer(cfg: DictConfig, fast: fast_path.FastPath, job: RunDir, loggers: list) -> tuple[pl.Trainer, StampIdentity]:
    """Lightning's Trainer for the job: our callbacks (identity stamp, save on signal), atomic checkpoints."""
    stamp = StampIdentity({})  # filled once the world size is known (`_identity`)
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c]
    callbacks += [stamp, SaveOnSignal(job.last_checkpoint)]
    trainer: pl.Trainer = instantiate(
        cfg.trainer,
        logger=loggers or False,
        callbacks=callbacks,
        precision=fast.precision,
        benchmark=fast.cudnn_benchmark,
        plugins=[AtomicCheckpointIO()],
        _convert_="partial",
    )
    return trainer, stamp


def _run(fast: fast_path.FastPath, trainer: pl.Trainer, datamodule: Any) -> dict[str, Any]:
    """What else makes two jobs comparable: the precision and the batch as the ranks split it."""
    return {
        "precision": fast.precision,
        "batch": {
            "global": datamodule.batch_size,
            "per_device": per_device_batch(datamodule.batch_size, trainer.world_size),
        },
        "world_size": int(trainer.world_size),
    }


def _fit(trainer: pl.Trainer, module: SRModule, datamodule: Any, job: RunDir, name: str) -> str:
    """Fit (resuming from the job's last checkpoint if it has one), test if it did not diverge: its status."""
    resume = job.last_checkpoint if job.last_checkpoint.is_file() else None  # src.train set damaged ones aside
    if resume is not None:
        log.info("resuming from %s", resume)
        print(f"[{name}] resuming from {resume}", flush=True)
    trainer.fit(module, datamodule=datamodule, ckpt_path=resume, weights_only=True)
    if trainer.interrupted:
        raise KeyboardInterrupt
    status = DIVERGED if module.diverged_at is not None else FINISHED
    if status == FINISHED:
        trainer.test(module, datamodule=datamodule, verbose=False)
    return status


def _record(
    cfg: DictConfig, module: SRModule, datamodule: Any, status: str, steps: int, identity: dict, run: dict
) -> dict[str, Any]:
    """The job's results.json."""
    seconds = module.train_seconds
    return make_results(
        **job_labels(cfg),
        identity=identity,
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


def _summary(results: dict[str, Any]) -> dict[str, Any]:
    """The job's headline numbers for the W&B summary."""
    return {
        "params": results["params"],
        "status": results["status"],
        **{f"train/{k}": v for k, v in results["train"].items() if v is not None},
        **{f"test/{s}/{k}": v for s, m in results["metrics"].items() for k, v in m.items() if k != "images"},
    }


def run_job(cfg: DictConfig) -> dict[str, Any]:
    """One job in this process (or as one rank of its world): what `src.train` and rank workers call."""
    return fit_and_test(cfg, RunDir(cfg.paths.output_dir))


def fit_and_test(cfg: DictConfig, job: RunDir) -> dict[str, Any]:
    """Build, fit (resuming if it can), test, and record the job in its folder (rank zero writes)."""
    quiet_lightning_console()
    pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
    fast = fast_path.resolve(cfg.fast, cfg.trainer)
    labels = job_labels(cfg)
    module, datamodule, init = _build(cfg, fast, job_identity(cfg))
    rank_zero = is_rank_zero_process()
    tags = [labels["activation"], f"x{labels['scale']}", labels["model"]]
    loggers = build_loggers(cfg, job.path, {"name": labels["name"], "group": _sweep_group(), "tags": tags}, rank_zero)
    trainer, stamp = _trainer(cfg, fast, job, loggers)
    run = _run(fast, trainer, datamodule)
    stamp.identity = job_identity(cfg) | run_facts(fast.precision, run["world_size"], run["batch"]["per_device"])
    summary: dict[str, Any] = {}
    try:
        log_config(loggers, OmegaConf.create(OmegaConf.to_container(cfg, resolve=True) | run))
        status = _fit(trainer, module, datamodule, job, labels["name"])
        results = _record(cfg, module, datamodule, status, int(trainer.global_step), stamp.identity, run)
        if init is not None:
            results["init_from"] = init
        log_test_table(loggers, module.test_results)
        summary = _summary(results)
        if trainer.is_global_zero:
            write_results(job.path, results)
            _report_line(results, job.path)
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

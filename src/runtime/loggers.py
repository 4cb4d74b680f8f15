"""Experiment loggers for one job. W&B is optional at every step: trouble there never stops training."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig, OmegaConf

from src.contracts.rundir import RunDir

log = logging.getLogger(__name__)


def _wandb_logger(spec: DictConfig, out_dir: Path, identity: dict[str, Any]) -> Logger:
    """A WandbLogger whose run is this job's: the id is kept in the job dir, so a resumed job continues it."""
    id_file = RunDir(out_dir).wandb_id
    run_id = id_file.read_text().strip() if id_file.exists() else secrets.token_hex(4)
    out_dir.mkdir(parents=True, exist_ok=True)
    id_file.write_text(run_id)
    # Under a W&B sweep agent the agent owns the run id; elsewhere the job dir does.
    ids = {} if os.environ.get("WANDB_SWEEP_ID") else {"id": run_id, "resume": "allow"}
    logger = instantiate(spec, **ids, **identity)
    experiment = logger.experiment  # start the run now, inside our try, rather than at the first log call
    experiment.define_metric("val/*", summary="max")
    experiment.define_metric("train/loss", summary="min")
    return logger


def build_loggers(cfg: DictConfig, out_dir: Path, identity: dict[str, Any], is_rank_zero: bool) -> list[Logger]:
    """Loggers of `cfg.logger`; a W&B failure (no network, bad key, broken install) falls back to CSV."""
    loggers: list[Logger] = []
    for key, spec in (cfg.get("logger") or {}).items():
        if spec is None:
            continue
        if "WandbLogger" in str(spec.get("_target_", "")):
            if not is_rank_zero:
                continue
            try:
                loggers.append(_wandb_logger(spec, out_dir, identity))
            except Exception as err:
                log.warning(
                    "W&B unavailable (%s); logging to CSV in %s instead, results.json is unaffected",
                    str(err).splitlines()[0] if str(err) else type(err).__name__,
                    out_dir,
                )
                loggers.append(CSVLogger(str(out_dir), name="csv"))
        else:
            loggers.append(instantiate(spec))
        log.debug("logger %s ready", key)
    return loggers


def log_config(loggers: list[Logger], cfg: DictConfig) -> None:
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for logger in loggers:
        _safely(logger.log_hyperparams, resolved)


def log_test_table(loggers: list[Logger], metrics: dict[str, dict[str, Any]]) -> None:
    """The per-image test scores as a W&B table (set, image, the four metrics)."""
    from src.protocol.metrics import METRICS

    rows = [
        [name, image, *(values[k] for k in METRICS)]
        for name, result in metrics.items()
        for image, values in result["images"].items()
    ]
    for logger in loggers:
        if hasattr(logger, "log_table") and rows:
            _safely(logger.log_table, "test/per_image", ["set", "image", *METRICS], rows)


def finish(loggers: list[Logger], summary: dict[str, Any], ok: bool) -> None:
    """Put the job's headline numbers in the W&B summary and close the run (one run per job, even under -m);
    a job that did not finish (interrupted, failed) closes as failed, so nothing looks done that is not."""
    for logger in loggers:
        experiment = getattr(logger, "_experiment", None)
        if experiment is None or not hasattr(experiment, "summary"):
            continue
        _safely(experiment.summary.update, summary)
        _safely(experiment.finish, 0 if ok else 1)
    for logger in loggers:
        _safely(logger.finalize, "success" if ok else "failed")


def _safely(fn, *args) -> None:
    try:
        fn(*args)
    except Exception as err:
        log.warning("logger call %s failed: %s", getattr(fn, "__name__", fn), err)

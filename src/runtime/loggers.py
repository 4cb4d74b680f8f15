"""Experiment loggers for one job. W&B is optional at every step: trouble there never stops training."""

from __future__ import annotations

import errno
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig, OmegaConf

from src.contracts.atomic import atomic_write
from src.contracts.rundir import RunDir

log = logging.getLogger(__name__)


# A W&B run id as this tool makes it (hex) or W&B does (letters, digits); anything else is not one.
_RUN_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _run_id(id_file: Path) -> str:
    """The job's W&B run id from its file, or a new one (written atomically, replacing rather than writing
    through a link) when the file is missing, empty or not an id: a bad file must not end W&B for the job."""
    text = ""
    if id_file.is_file() and not id_file.is_symlink():
        text = id_file.read_text(errors="replace").strip()
    if _RUN_ID.match(text):
        return text
    run_id = secrets.token_hex(4)
    if id_file.exists() or id_file.is_symlink():
        log.warning("%s held no W&B run id (%r); starting a new W&B run %s", id_file, text[:40], run_id)
    atomic_write(id_file, lambda f: f.write(run_id.encode()))
    return run_id


def _wandb_logger(spec: DictConfig, out_dir: Path, identity: dict[str, Any]) -> Logger:
    """A WandbLogger whose run is this job's: the id is kept in the job dir, so a resumed job continues it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run_id = _run_id(RunDir(out_dir).wandb_id)
    # Under a W&B sweep agent the agent owns the run id; elsewhere the job dir does.
    ids = {} if os.environ.get("WANDB_SWEEP_ID") else {"id": run_id, "resume": "allow"}
    logger = instantiate(spec, **ids, **identity)
    experiment = logger.experiment  # start the run now, inside our try, rather than at the first log call
    experiment.define_metric("val/*", summary="max")
    experiment.define_metric("train/loss", summary="min")
    return guard(logger)


def _trouble(err: BaseException) -> str:
    """A W&B failure in a few words; a full disk names the file system that is full, not W&B's temp folder."""
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        where = Path(err.filename or tempfile.gettempdir())
        return f"no space left on the file system mounted at {_mount_point(where)} (W&B was writing {where})"
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def _mount_point(path: Path) -> Path:
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


# What Lightning and our callbacks call on a logger while training runs.
_GUARDED = ("log_metrics", "log_hyperparams", "log_image", "log_table", "log_text", "after_save_checkpoint", "save")


def guard(logger: Logger) -> Logger:
    """Make W&B trouble during training (a full disk, a failed image upload) one warning, after which the
    logger stops logging; training and results.json go on."""
    failed: list[str] = []

    def guarded(name: str, call: Any) -> Any:
        def safe(*args: Any, **kwargs: Any) -> Any:
            if failed:
                return None
            try:
                return call(*args, **kwargs)
            except Exception as err:
                failed.append(_trouble(err))
                log.warning("W&B %s failed (%s); W&B logging stops for this job, training goes on", name, failed[0])
                return None

        return safe

    for name in _GUARDED:
        call = getattr(logger, name, None)
        if callable(call):
            setattr(logger, name, guarded(name, call))
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
                    _trouble(err),
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

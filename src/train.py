"""`python -m src.train`: one job = build from config, fit, test, write results.json, finish W&B.

`-m` sweeps call `main` once per job. Tests call `train(cfg)` directly with a composed config. What a job
does once it runs lives in `src.runtime.job`; ranks started for a job call `src.runtime.job.run_job` directly.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Any

import hydra
from omegaconf import DictConfig

from src.contracts import resolvers
from src.contracts.checks import check_training
from src.contracts.ctrl_c import ctrl_c_stops
from src.contracts.errors import user_errors_exit
from src.contracts.identity import job_identity
from src.contracts.results import DamagedResults, job_record
from src.contracts.rundir import RunDir
from src.runtime.launch import is_rank_zero_process, needs_spawn, run_ranks
from src.runtime.locks import job_lock
from src.runtime.rerun import refuse_another_experiment

resolvers.register()  # before Hydra composes any config

log = logging.getLogger(__name__)


def _archive_previous(job: RunDir) -> None:
    """force=true: keep the earlier results and checkpoints beside the new ones instead of overwriting them."""
    for path in job.earlier_run:
        if path.exists():
            log.info("force=true: kept the previous %s as %s", path.name, job.set_aside(path, "before").name)


def _finished(job: RunDir) -> dict[str, Any] | None:
    """The job's record if it has run (finished or diverged); a damaged one is set aside and the job redone."""
    try:
        return job_record(job)
    except DamagedResults as err:
        aside = job.set_aside(job.results, "damaged")
        print(f"{err}; kept it as {aside.name} and redoing the job", flush=True)
        return None


def _folder_setting() -> str:
    """The setting that chooses this job's folder, for the message that asks for another one."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized():
        return "paths.output_dir"
    return "hydra.sweep.dir" if HydraConfig.get().mode == RunMode.MULTIRUN else "hydra.run.dir"


def train(cfg: DictConfig) -> dict[str, Any]:
    """The sweep-level part of a job: check the request, refuse a folder that holds another experiment, skip
    the job if done or running elsewhere, keep the old files on force=true, then run it here
    (`src.runtime.job.run_job`) or as rank 0 of the worlds it needs."""
    check_training(cfg)
    job = RunDir(cfg.paths.output_dir)
    force = bool(cfg.get("force", False))
    if not force:
        hydra_config = job.hydra_config.read_text() if job.hydra_config.is_file() else None
        refuse_another_experiment(job, job_identity(cfg), hydra_config, _folder_setting())
        if (done := _finished(job)) is not None:
            return _skip(job, done)  # before locking: a finished job's files stay untouched
    # Under srun or torchrun every rank runs this function; only global rank 0 locks and archives.
    leader = is_rank_zero_process()
    with job_lock(job.path) if leader else nullcontext(True) as ours:
        if not ours:
            return {}
        if not force and (done := _finished(job)) is not None:  # finished by the process that held the lock
            return _skip(job, done)
        # Lightning and W&B load here, not when the CLI parses arguments.
        from src.runtime.checkpoints import prepare_resume
        from src.runtime.job import run_job

        if leader:
            if force:
                _archive_previous(job)
            prepare_resume(job.checkpoints)  # before any rank starts: all resume from the same file
        return run_ranks(cfg, run_job) if needs_spawn(cfg) else run_job(cfg)


def _skip(job: RunDir, results: dict[str, Any]) -> dict[str, Any]:
    # stdout, not the job's log file: a finished job's files stay untouched.
    print(f"skipping {job.path}: {job.results.name} exists (force=true redoes the job)", flush=True)
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    with ctrl_c_stops("nothing is recorded as finished; rerun the same command to resume"):
        results = train(cfg)
    sets = results.get("metrics") or {}
    first = next(iter(sets.values()), None)
    return first["psnr_y"] if first else None  # the value a Hydra sweeper optimises


if __name__ == "__main__":
    main()

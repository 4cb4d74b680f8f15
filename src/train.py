"""`python -m src.train`: one job = build from config, fit, test, write results.json, finish W&B.

`-m` sweeps call `main` once per job. Tests call `train(cfg)` directly with a composed config. What a job
does once it runs lives in `src.runtime.job`; ranks started for a job call `src.runtime.job.run_job` directly.
"""

from __future__ import annotations

import logging
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

from src.contracts import resolvers
from src.contracts.checks import check_training
from src.contracts.ctrl_c import ctrl_c_stops
from src.contracts.errors import user_errors_exit
from src.contracts.results import RESULTS_FILE, read_results
from src.runtime.launch import is_rank_zero_process, needs_spawn, run_ranks
from src.runtime.locks import job_lock

resolvers.register()  # before Hydra composes any config

log = logging.getLogger(__name__)


def _archive_previous(out: Path) -> None:
    """force=true: keep the earlier results and checkpoints beside the new ones instead of overwriting them."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in (RESULTS_FILE, "checkpoints", "wandb_run_id"):
        path = out / name
        if path.exists():
            path.rename(out / f"{name}.before-{stamp}")
            log.info("force=true: kept the previous %s as %s.before-%s", name, name, stamp)


def train(cfg: DictConfig) -> dict[str, Any]:
    """The sweep-level part of a job: check the request, skip it if done or running elsewhere, keep the old
    files on force=true, then run it here (`src.runtime.job.run_job`) or as rank 0 of the worlds it needs."""
    check_training(cfg)
    out = Path(cfg.paths.output_dir)
    force = bool(cfg.get("force", False))
    if (out / RESULTS_FILE).exists() and not force:
        return _skip(out)  # before locking: a finished job's files stay untouched
    # Under srun or torchrun every rank runs this function; only global rank 0 locks and archives.
    leader = is_rank_zero_process()
    with job_lock(out) if leader else nullcontext(True) as ours:
        if not ours:
            return {}
        if (out / RESULTS_FILE).exists() and not force:  # finished by the process that held the lock
            return _skip(out)
        # Lightning and W&B load here, not when the CLI parses arguments.
        from src.runtime.checkpoints import prepare_resume
        from src.runtime.job import run_job

        if leader:
            if force:
                _archive_previous(out)
            prepare_resume(out / "checkpoints")  # before any rank starts: all resume from the same file
        return run_ranks(cfg, run_job) if needs_spawn(cfg) else run_job(cfg)


def _skip(out: Path) -> dict[str, Any]:
    # stdout, not the job's log file: a finished job's files stay untouched.
    print(f"skipping {out}: {RESULTS_FILE} exists (force=true redoes the job)", flush=True)
    return read_results(out / RESULTS_FILE)


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

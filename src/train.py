"""`python -m src.train`: one job = build from config, fit, test, write results.json, finish W&B.

`-m` sweeps call `main` once per job. Tests call `train(cfg)` directly with a composed config.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig

import src.config  # noqa: F401  (registers the resolvers the configs use)
from src.cli import user_errors_exit
from src.launch import externally_launched, is_rank_zero_process, needs_spawn, run_ranks
from src.results import RESULTS_FILE, job_identity, read_results

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
    out = Path(cfg.paths.output_dir)
    done = out / RESULTS_FILE
    if done.exists() and not cfg.get("force", False):
        # stdout, not the job's log file: a finished job's files stay untouched.
        print(f"skipping {out}: {RESULTS_FILE} exists (force=true redoes the job)", flush=True)
        return read_results(done)
    if cfg.get("force", False) and is_rank_zero_process() and not externally_launched():
        _archive_previous(out)
    if needs_spawn(cfg):
        return run_ranks(cfg, train)
    from src.job import fit_and_test  # Lightning and W&B load here, not when the CLI parses arguments

    return fit_and_test(cfg, out, job_identity(cfg))


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    results = train(cfg)
    sets = results.get("metrics") or {}
    first = next(iter(sets.values()), None)
    return first["psnr_y"] if first else None  # the value a Hydra sweeper optimises


if __name__ == "__main__":
    main()

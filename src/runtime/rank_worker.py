"""Rank 1..N-1 of one multi-process job (started by `src.runtime.launch.run_ranks`): runs the job from its config."""

from __future__ import annotations

import sys

from omegaconf import OmegaConf


def main(config_file: str) -> None:
    from src.runtime.job import run_job

    run_job(OmegaConf.load(config_file))


if __name__ == "__main__":
    main(sys.argv[1])

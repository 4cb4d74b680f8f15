"""The one owner of a job's folder and of a sweep's folder: every file name the project writes there.

Training, evaluation, the report, the dashboard and the study ask these classes for a path and walk a sweep with
`walk_jobs`; none of them spells a file name of its own.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunDir:
    """One job's folder (a Hydra job directory): what it holds once the job has run."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def results(self) -> Path:
        """The job's one machine-readable record (src/contracts/results.py)."""
        return self.path / "results.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        """What a rerun resumes from (Lightning's `save_last` name)."""
        return self.checkpoints / "last.ckpt"

    @property
    def wandb_id(self) -> Path:
        """The W&B run id, so a resumed job continues the same W&B run."""
        return self.path / "wandb_run_id"

    @property
    def wandb(self) -> Path:
        return self.path / "wandb"

    @property
    def lock(self) -> Path:
        """Held (POSIX record lock, holding the PID) while a process trains here (src/runtime/locks.py)."""
        return self.path / "job.lock"

    @property
    def hydra_dir(self) -> Path:
        """Hydra's records of the launch that made this job (config, overrides), rewritten by every launch."""
        return self.path / ".hydra"

    @property
    def hydra_config(self) -> Path:
        """The composed config Hydra saved when the job started: all an unfinished job leaves behind."""
        return self.hydra_dir / "config.yaml"

    @property
    def earlier_run(self) -> tuple[Path, ...]:
        """What `force=true` keeps aside before redoing the job: its record, its weights, its W&B run."""
        return (self.results, self.checkpoints, self.wandb_id)

    def set_aside(self, path: Path, why: str) -> Path:
        """Rename `path` to `<name>.<why>-<time>` beside it (kept, never deleted) and return the new path."""
        aside = path.with_name(f"{path.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}")
        path.rename(aside)
        return aside

    @property
    def log(self) -> Path:
        return self.path / "train.log"


@dataclass(frozen=True)
class SweepDir:
    """A sweep's folder (hydra.sweep.dir): its job folders, and the report written beside them."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @property
    def report(self) -> Path:
        return self.path / "report"

    @property
    def table1(self) -> Path:
        return self.report / "table1.md"

    @property
    def hydra_record(self) -> Path:
        """The sweep's composed config, which Hydra rewrites at every `-m` launch into the folder."""
        return self.path / "multirun.yaml"

    @property
    def study(self) -> Path:
        """A sequential study's design and per-look decisions (src/study/)."""
        return self.path / "study"


# Folders that never hold a job: W&B's files and checkpoints can be large, the report is ours; hidden folders
# (.hydra, .submitit) belong to the job above them.
_NOT_JOBS = {
    RunDir(Path()).wandb.name,
    RunDir(Path()).checkpoints.name,
    SweepDir(Path()).report.name,
    SweepDir(Path()).study.name,
    "__pycache__",
}


def walk_jobs(root: Path, exclude: Path | None = None) -> Iterator[RunDir]:
    """Every job folder below `root` (itself included), sorted: one that holds a results.json or Hydra's saved
    config. The walk does not enter a job folder, a folder of `_NOT_JOBS`, a hidden one, or `exclude`."""
    skip = exclude.resolve() if exclude is not None else None
    for here, subdirs, _files in os.walk(root):
        job = RunDir(Path(here))
        if job.results.is_file() or job.hydra_config.is_file():
            yield job
            subdirs.clear()
            continue
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".") and d not in _NOT_JOBS and (skip is None or (job.path / d).resolve() != skip)
        )

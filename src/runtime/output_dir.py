"""A Hydra callback that checks the run's output folder before Hydra creates it, so that a path that cannot be
a writable folder is one line (exit 2) instead of Hydra's traceback from inside its job runner."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, open_dict, read_write

from src.contracts.errors import user_message
from src.contracts.rundir import RunDir, SweepDir, walk_jobs


def check_output_dir(path: Path, setting: str) -> None:
    """Create `path` (as Hydra would) and check it is writable; else `error: ...` and exit 2."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied", str(path))
    except OSError as err:
        message = user_message(err) or f"cannot use {path} ({err})"
        print(f"error: output folder: {message} (set {setting}=)", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


class CheckOutputDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_output_dir(Path(config.hydra.run.dir), "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_output_dir(Path(config.hydra.sweep.dir), "hydra.sweep.dir")


class KeepEarlierRuns(Callback):
    """Refuse a job whose folder holds another experiment with the folder exactly as it was.

    Hydra rewrites a job's `.hydra/` records (and a sweep's `multirun.yaml`) before any callback or task sees
    the job, so the records are read when the launch starts, the earlier config is judged from them
    (`src.runtime.rerun`), and on refusal they are put back, bytes and times, before exiting 2.
    """

    def __init__(self) -> None:
        self.records: dict[Path, tuple[bytes, int]] = {}  # what a launch rewrites, as it was
        self.sweep_files: list[Path] = []
        self.logs: set[Path] = set()  # job logs that existed (Hydra opens, and so creates, one per job)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._remember([RunDir(Path(config.hydra.run.dir).absolute())])

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        sweep = Path(config.hydra.sweep.dir).absolute()
        self.sweep_files = [SweepDir(sweep).hydra_record]
        self._remember(list(walk_jobs(sweep)) if sweep.is_dir() else [])

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        from hydra.types import RunMode

        from src.contracts.identity import job_identity
        from src.runtime.rerun import DifferentExperiment, refuse_another_experiment

        if config.get("force"):
            return
        job = RunDir(Path(config.hydra.runtime.output_dir).absolute())
        earlier = self.records.get(job.hydra_config)
        setting = "hydra.sweep.dir" if config.hydra.mode == RunMode.MULTIRUN else "hydra.run.dir"
        try:
            refuse_another_experiment(job, job_identity(_task_config(config)), earlier and earlier[0].decode(), setting)
        except DifferentExperiment as err:
            self._restore(job)
            print(f"error: {err}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    def _remember(self, jobs: list[RunDir]) -> None:
        files = [*self.sweep_files]
        for job in jobs:
            files += list(job.hydra_dir.iterdir()) if job.hydra_dir.is_dir() else []
            if job.log.exists():
                self.logs.add(job.log)
        self.records = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in files if p.is_file()}

    def _restore(self, job: RunDir) -> None:
        """Put back what this launch rewrote of `job` and its sweep; remove what it created there."""
        now = list(job.hydra_dir.iterdir()) if job.hydra_dir.is_dir() else []
        for path in {*now, *self.sweep_files, *(p for p in self.records if p.parent == job.hydra_dir)}:
            if path in self.records:
                data, mtime = self.records[path]
                path.write_bytes(data)
                os.utime(path, ns=(mtime, mtime))
            else:
                path.unlink(missing_ok=True)
        if job.hydra_dir.is_dir() and not any(job.hydra_dir.iterdir()):
            job.hydra_dir.rmdir()
        if job.log not in self.logs and job.log.is_file() and job.log.stat().st_size == 0:
            job.log.unlink()


def _task_config(config: DictConfig) -> DictConfig:
    """The job's config as its task function gets it: without the (read-only) `hydra` section."""
    task = copy.deepcopy(config)
    with read_write(task), open_dict(task):
        del task["hydra"]
    return task

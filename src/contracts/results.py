"""`results.json`: the one machine-readable record every job (train or evaluate) leaves in its directory."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from src.contracts.atomic import atomic_write
from src.contracts.errors import UserError
from src.contracts.rundir import RunDir, walk_jobs

# A job's `status`: what the report averages (FINISHED) and what it lists apart (DIVERGED).
FINISHED = "finished"
DIVERGED = "diverged"


class DamagedResults(UserError):
    """A results.json that is not a job's record (cut short, empty, not an object): never taken as finished."""


def job_labels(cfg: Any) -> dict[str, Any]:
    """How a job is named and grouped for people: results.json's top fields, W&B's run name and tags, the
    progress line. What the job *is* (every setting) is `src.contracts.identity.job_identity`."""
    from omegaconf import OmegaConf

    from src.models.activations import activation_label

    params = OmegaConf.to_container(cfg.activation.params, resolve=True) if cfg.activation.params else {}
    seed = cfg.get("seed")
    label = activation_label(cfg.activation.name, **params)
    return {
        "model": cfg.model.name,
        "activation": label,
        "activation_params": params,
        "scale": int(cfg.scale),
        "seed": None if seed is None else int(seed),
        "name": f"{cfg.model.name}-{label}-x{cfg.scale}" + ("" if seed is None else f"-s{seed}"),
    }


def make_results(
    *,
    name: str,
    status: str,
    model: str,
    activation: str | None,
    activation_params: dict[str, Any],
    scale: int,
    seed: int | None,
    identity: dict[str, Any],
    params: int,
    world_size: int,
    train: dict[str, Any] | None,
    metrics: dict[str, Any],
    config: dict[str, Any],
    history: dict[str, list] | None = None,
    diverged_at_step: int | None = None,
    precision: str | None = None,
    batch: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The schema shared by `src.train`, `src.evaluate` and read by `src.report` (see README)."""
    return {
        "name": name,
        "status": status,
        "diverged_at_step": diverged_at_step,
        "model": model,
        "activation": activation,
        "activation_params": activation_params,
        "scale": scale,
        "seed": seed,
        # Every setting of the job (src/contracts/identity.py): what resume, skip and the report compare.
        "identity": identity,
        "params": params,
        "world_size": world_size,
        # Training precision (Lightning's name, e.g. "32-true", "bf16-mixed") and the global and per-device batch:
        # jobs that differ in these are different experiments (None for src.evaluate).
        "precision": precision,
        "batch": batch,
        "train": train,
        "metrics": metrics,
        "history": history or {},
        "config": config,
    }


def write_results(directory: Path, results: dict[str, Any]) -> Path:
    """Write atomically, so a crash never leaves a half file that a rerun would take as finished."""
    payload = json.dumps(results, indent=2).encode()
    return atomic_write(RunDir(directory).results, lambda f: f.write(payload))


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def job_record(job: RunDir) -> dict[str, Any] | None:
    """The job's results.json (None: it has none); `DamagedResults` if the file is not a job's record."""
    if not job.results.exists():
        return None
    try:
        record = read_results(job.results)
    except (OSError, ValueError) as err:
        raise DamagedResults(f"{job.results}: unreadable ({str(err).splitlines()[0] if str(err) else err!r})") from None
    if not isinstance(record, dict) or "status" not in record:
        raise DamagedResults(f"{job.results}: not a job's record (no status)")
    return record


def finished_records(root: Path, exclude: Path | None = None) -> Iterator[tuple[RunDir, dict[str, Any]]]:
    """Every finished job below `root` (walk_jobs' order, not entering `exclude`) with its results.json; a job
    with no record, an unreadable one or another status is passed over."""
    for job in walk_jobs(Path(root), exclude=exclude):
        try:
            record = job_record(job)
        except DamagedResults:
            continue
        if record is not None and record.get("status") == FINISHED:
            yield job, record


def find_results(root: Path, match: Callable[[dict[str, Any]], bool]) -> RunDir | None:
    """The first finished job below `root` (walk_jobs' order) whose results.json satisfies `match`."""
    return next((job for job, record in finished_records(root) if match(record)), None)

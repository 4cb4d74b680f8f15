"""What a sweep's jobs logged to W&B, read from their results.json files (no W&B, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.results import read_results
from src.contracts.rundir import SweepDir, walk_jobs
from src.report.collect import metrics_problem

# The columns of the paper's Table 1: PSNR and SSIM on the Y channel (src/protocol/metrics.py logs them per set).
TABLE_METRICS = ("psnr_y", "ssim_y")


@dataclass(frozen=True)
class Sweep:
    """The facts the dashboards are built from. `name` is the W&B group: src/runtime/job.py groups a sweep's runs under
    its directory's name."""

    name: str
    directory: Path
    jobs: tuple[dict[str, Any], ...]
    scales: tuple[int, ...]
    val_sets: tuple[str, ...]
    test_sets: tuple[str, ...]
    activation_params: tuple[str, ...]
    crops: bool
    job_type: str | None
    project: str | None
    entity: str | None
    # Jobs that logged to W&B but are not used, each as "<folder>: why".
    left_out: tuple[str, ...] = ()


def read_sweep(directory: Path) -> Sweep:
    """The training jobs below `directory` that logged to W&B (evaluation jobs have no curves and no group); a
    job whose results.json cannot be read or holds malformed metrics is left out and named with why."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(
            f"no such sweep directory: {directory}; pass the hydra.sweep.dir of a `python -m src.train -m` run"
        )
    jobs, left_out = [], []
    for run in walk_jobs(directory):
        if not run.results.is_file():
            continue
        try:
            results = read_results(run.results)
        except (OSError, ValueError) as err:
            left_out.append(f"{run.path}: unreadable {run.results.name} ({str(err)[:80]})")
            continue
        if not isinstance(results, dict) or results.get("train") is None or not _wandb_spec(results):
            continue
        problem = metrics_problem(_dict(results.get("metrics"))) or _int_problem(results.get("scale"))
        if problem:
            left_out.append(f"{run.path}: {problem}")
            continue
        jobs.append(results)
    if not jobs:
        raise UserError(
            f"no training job logged to W&B under {directory}: run the sweep with logger=wandb (the default) first"
            + (f" ({len(left_out)} left out: {left_out[0]})" if left_out else "")
        )
    return _sweep(directory, jobs, left_out)


def _sweep(directory: Path, jobs: list[dict[str, Any]], left_out: list[str]) -> Sweep:
    specs = [_wandb_spec(job) for job in jobs]
    return Sweep(
        name=directory.resolve().name,
        directory=directory,
        jobs=tuple(jobs),
        scales=tuple(sorted({int(job["scale"]) for job in jobs})),
        val_sets=_ordered(
            key.split("/")[1] for job in jobs for key in _dict(job.get("history")) if key.startswith("val/")
        ),
        test_sets=_ordered(name for job in jobs for name in job["metrics"]),
        activation_params=tuple(sorted({k for job in jobs for k in _dict(job.get("activation_params"))})),
        crops=any(_logs_crops(job) for job in jobs),
        job_type=next((s["job_type"] for s in specs if s.get("job_type")), None),
        project=next((s["project"] for s in specs if s.get("project")), None),
        entity=next((s["entity"] for s in specs if s.get("entity")), None),
        left_out=tuple(left_out),
    )


def report_dir(sweep: Sweep) -> Path:
    """Where src.report writes its files for this sweep (and where the dry run writes the specification)."""
    return SweepDir(sweep.directory).report


def _int_problem(scale: Any) -> str:
    try:
        int(scale)
    except (TypeError, ValueError, OverflowError):
        return f"scale {str(scale)[:20]!r} is not an integer"
    return ""


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _wandb_spec(results: dict[str, Any]) -> dict[str, Any] | None:
    """The job's W&B logger config (conf/logger/wandb.yaml), None when it logged elsewhere."""
    for spec in _dict(_dict(results.get("config")).get("logger")).values():
        if isinstance(spec, dict) and "WandbLogger" in str(spec.get("_target_", "")):
            return spec
    return None


def _logs_crops(results: dict[str, Any]) -> bool:
    """Whether the job ran src.runtime.callbacks.ValidationImages, which logs `val/crops`
    (conf/callbacks/default.yaml)."""
    callbacks = _dict(_dict(results.get("config")).get("callbacks"))
    return any(
        isinstance(c, dict) and str(c.get("_target_", "")).endswith("ValidationImages") for c in callbacks.values()
    )


def _ordered(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))

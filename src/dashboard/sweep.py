"""What a sweep's jobs logged to W&B, read from their results.json files (no W&B, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.results import RESULTS_FILE, read_results

# The columns of the paper's Table 1: PSNR and SSIM on the Y channel (src/protocol/metrics.py logs them per set).
TABLE_METRICS = ("psnr_y", "ssim_y")
REPORT_DIR = "report"


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


def read_sweep(directory: Path) -> Sweep:
    """The training jobs below `directory` that logged to W&B (evaluation jobs have no curves and no group)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise UserError(
            f"no such sweep directory: {directory}; pass the hydra.sweep.dir of a `python -m src.train -m` run"
        )
    jobs = []
    for path in sorted(directory.rglob(RESULTS_FILE)):
        if REPORT_DIR in path.relative_to(directory).parts:
            continue
        try:
            results = read_results(path)
        except (OSError, ValueError) as err:
            raise UserError(f"unreadable {path} ({err}); rerun that job or remove its directory") from None
        if results.get("train") is not None and _wandb_spec(results):
            jobs.append(results)
    if not jobs:
        raise UserError(
            f"no training job logged to W&B under {directory}: run the sweep with logger=wandb (the default) first"
        )
    specs = [_wandb_spec(job) for job in jobs]
    return Sweep(
        name=directory.resolve().name,
        directory=directory,
        jobs=tuple(jobs),
        scales=tuple(sorted({int(job["scale"]) for job in jobs})),
        val_sets=_ordered(key.split("/")[1] for job in jobs for key in job["history"] if key.startswith("val/")),
        test_sets=_ordered(name for job in jobs for name in job["metrics"]),
        activation_params=tuple(sorted({k for job in jobs for k in job.get("activation_params") or {}})),
        crops=any(_logs_crops(job) for job in jobs),
        job_type=next((s["job_type"] for s in specs if s.get("job_type")), None),
        project=next((s["project"] for s in specs if s.get("project")), None),
        entity=next((s["entity"] for s in specs if s.get("entity")), None),
    )


def _wandb_spec(results: dict[str, Any]) -> dict[str, Any] | None:
    """The job's W&B logger config (conf/logger/wandb.yaml), None when it logged elsewhere."""
    for spec in ((results.get("config") or {}).get("logger") or {}).values():
        if isinstance(spec, dict) and "WandbLogger" in str(spec.get("_target_", "")):
            return spec
    return None


def _logs_crops(results: dict[str, Any]) -> bool:
    """Whether the job ran src.runtime.callbacks.ValidationImages, which logs `val/crops`
    (conf/callbacks/default.yaml)."""
    callbacks = (results.get("config") or {}).get("callbacks") or {}
    return any(
        isinstance(c, dict) and str(c.get("_target_", "")).endswith("ValidationImages") for c in callbacks.values()
    )


def _ordered(names) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))

"""The report's one call for the per-image and qualitative figures: records from the collected jobs, one
comparison per model and setting (tagged in the file names when there are several), a line for each left out."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from src.contracts.errors import UserError
from src.contracts.results import FINISHED
from src.report.collect import Job
from src.report.factor import Factor
from src.report.image_records import SetRecord
from src.report.per_image import write_per_image


def write_pictures(
    jobs: Sequence[Job],
    factor: Factor,
    out_dir: Path,
    *,
    metric: str = "psnr_y",
    qualitative: bool = False,
) -> tuple[list[Path], list[str]]:
    """per_image.csv and per_image_x*.png (and with `qualitative`, qualitative_x*_<set>.png) into `out_dir` for
    the factor's levels against its reference, one comparison per model and setting (the report's own rule:
    only jobs that differ in nothing but the factor and the seed are compared); the paths written and one line
    per comparison that could not be drawn, to print."""
    groups = _comparable_groups(jobs, factor)
    written: list[Path] = []
    messages: list[str] = []
    for i, ((model, _), group) in enumerate(sorted(groups.items())):
        tag = "" if len(groups) == 1 else (model if len({m for m, _ in groups}) == len(groups) else f"{model}-{i}")
        reference = next((factor.label(j) for j in group if factor.is_reference(j)), None)
        if reference is None:
            messages.append(f"skipped the per-image figures{' of ' + tag if tag else ''}: no {factor.reference} run")
            continue
        records = [record for job in group for record in _records(job, factor)]
        try:
            written += write_per_image(records, reference, out_dir, metric, tag=tag)
            if qualitative:
                from src.report.qualitative import write_qualitative

                written += write_qualitative(records, reference, out_dir, metric=metric, tag=tag)
        except UserError as why:
            messages.append(f"skipped the per-image figures{' of ' + tag if tag else ''}: {why}")
    return written, messages


def _comparable_groups(jobs: Sequence[Job], factor: Factor) -> dict[tuple[str, str], list[Job]]:
    groups: dict[tuple[str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        if job.status == FINISHED and not job.is_bicubic and job.seed is not None and job.scale is not None:
            setting = factor.setting(job)
            setting.pop("scale", None)  # one figure holds every scale of a setting
            groups[(str(job.model), json.dumps(setting, sort_keys=True, default=str))].append(job)
    return groups


def _records(job: Job, factor: Factor) -> list[SetRecord]:
    return [
        SetRecord(factor.label(job), int(job.seed), int(job.scale), name, job.path, metrics["images"])
        for name, metrics in job.metrics.items()
        if isinstance(metrics, dict) and metrics.get("images")
    ]

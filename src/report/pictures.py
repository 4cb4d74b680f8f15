"""The report's one call for the per-image and qualitative figures: records from the collected jobs, one
comparison per model and setting (tagged in the file names when there are several), a line for each left out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from src.contracts.errors import UserError
from src.contracts.results import FINISHED
from src.report.collect import Job
from src.report.factor import Factor
from src.report.image_records import SetRecord
from src.report.per_image import write_per_image
from src.report.summary import Section, Summary


def write_pictures(
    summary: Summary,
    jobs: Sequence[Job],
    out_dir: Path,
    *,
    qualitative: bool = False,
) -> tuple[list[Path], list[str]]:
    """per_image.csv and per_image_x*.png (and with `qualitative`, qualitative_x*_<set>.png) into `out_dir` for
    the factor's levels against its reference, one comparison per Table 1 section (a model in one setting:
    only jobs that differ in nothing but the factor and the seed are compared; tagged in the file names when
    there are several); the paths written and one line per comparison that could not be drawn, to print."""
    factor, metric = summary.factor, summary.psnr_key
    models = [section.model for section in summary.sections]
    written: list[Path] = []
    messages: list[str] = []
    for i, section in enumerate(summary.sections):
        unique = models.count(section.model) == 1
        tag = "" if len(models) == 1 else (section.model if unique else f"{section.model}-{i}")
        group = [job for job in jobs if _in_section(job, section, factor)]
        reference = next((factor.label(j) for j in group if factor.is_reference(j)), None)
        if reference is None:
            messages.append(f"skipped the per-image figures of {section.title}: no {factor.reference} run")
            continue
        records = [record for job in group for record in _records(job, factor)]
        try:
            written += write_per_image(records, reference, out_dir, metric, tag=tag)
            if qualitative:
                from src.report.qualitative import write_qualitative

                written += write_qualitative(records, reference, out_dir, metric=metric, tag=tag)
        except UserError as why:
            messages.append(f"skipped the per-image figures of {section.title}: {why}")
    return written, messages


def _in_section(job: Job, section: Section, factor: Factor) -> bool:
    """A finished trained job of the section's model whose setting is the section's at its scale."""
    if job.status != FINISHED or job.is_bicubic or job.seed is None or job.model != section.model:
        return False
    return job.scale in section.settings and factor.setting(job) == section.settings[job.scale]


def _records(job: Job, factor: Factor) -> list[SetRecord]:
    return [
        SetRecord(factor.label(job), int(job.seed), int(job.scale), name, job.path, metrics["images"])
        for name, metrics in job.metrics.items()
        if isinstance(metrics, dict) and metrics.get("images")
    ]

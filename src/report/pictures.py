"""The report CLI's one call for the per-image and qualitative figures: records from the sweep folders, one
comparison per model (a sweep of several models is tagged by model), and a line for each figure left out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.results import FINISHED, read_results
from src.contracts.rundir import walk_jobs
from src.report.image_records import records_from_dirs
from src.report.per_image import write_per_image


def models_in(dirs: Iterable[Path], exclude: Path | None = None) -> list[str]:
    """The trained models of the finished jobs below `dirs` (bicubic, which has no activation, is none)."""
    found = set()
    for root in dirs:
        for job in walk_jobs(Path(root), exclude=exclude):
            try:
                results = read_results(job.results)
            except (OSError, ValueError):
                continue
            if results.get("status") == FINISHED and results.get("activation") is not None:
                found.add(str(results.get("model")))
    return sorted(found)


def write_pictures(
    dirs: Iterable[Path],
    out_dir: Path,
    reference: str,
    *,
    key: str = "activation",
    label: Callable[[Any], str] = str,
    metric: str = "psnr_y",
    qualitative: bool = False,
) -> tuple[list[Path], list[str]]:
    """per_image.csv and per_image_x*.png (and with `qualitative`, qualitative_x*_<set>.png) into `out_dir` for
    the levels of `key` against `reference`; the paths written and one line per comparison that could not be
    drawn (no seed paired with the reference), to print."""
    dirs = list(dirs)
    models = models_in(dirs, exclude=out_dir)
    written: list[Path] = []
    messages: list[str] = []
    for model in models:
        tag = model if len(models) > 1 else ""
        records = records_from_dirs(dirs, key, label, where={"model": model}, exclude=out_dir)
        try:
            written += write_per_image(records, reference, out_dir, metric, tag=tag)
            if qualitative:
                from src.report.qualitative import write_qualitative

                written += write_qualitative(records, reference, out_dir, metric=metric, tag=tag)
        except UserError as why:
            messages.append(f"skipped the per-image figures{' of ' + model if tag else ''}: {why}")
    return written, messages

"""From jobs to table cells: group by model, scale, set and activation; spread over seeds; pairs vs ReLU."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from src.report.collect import BICUBIC, FINISHED, UNREADABLE, Job, number
from src.report.stats import bootstrap_mean_ci, mean_std, relative_change_pct, wilcoxon_p

REFERENCE = "relu"
SET_ORDER = ("DIV2K", "Set5", "Set14", "B100", "Urban100")
ACTIVATION_ORDER = (BICUBIC, "relu", "lrelu", "swish", "mish")


@dataclass(frozen=True)
class Cell:
    """One (model, scale, set, activation): finished seeds only."""

    model: str
    scale: int
    dataset: str
    activation: str
    seeds: tuple[int | None, ...]
    psnr: tuple[float, ...]
    ssim: tuple[float, ...]
    pct_psnr: float = math.nan
    pct_ssim: float = math.nan
    dpsnr: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    n_pairs: int = 0
    p_note: str = ""

    @property
    def n_seeds(self) -> int:
        return len(self.psnr)

    @property
    def psnr_mean_std(self) -> tuple[float, float]:
        return mean_std(self.psnr)

    @property
    def ssim_mean_std(self) -> tuple[float, float]:
        return mean_std([v for v in self.ssim if math.isfinite(v)])


@dataclass
class Section:
    """Everything one model preset contributes: one table section."""

    model: str
    scales: list[int]
    datasets: dict[int, list[str]]
    activations: list[str]
    cells: dict[tuple[int, str, str], Cell]
    # (scale, activation) -> jobs that count towards the column but are not averaged in.
    excluded: dict[tuple[int, str], list[Job]] = field(default_factory=dict)
    # (scale, activation) -> how many jobs were launched for the column, finished or not.
    launched: dict[tuple[int, str], int] = field(default_factory=dict)


@dataclass
class Summary:
    sections: list[Section]
    psnr_key: str
    ssim_key: str
    # Jobs that fit no column (no activation/scale/model known, unreadable) and ignored duplicates.
    unplaced: list[Job] = field(default_factory=list)
    duplicates: list[Job] = field(default_factory=list)


def set_order(name: str) -> tuple[int, str]:
    return (SET_ORDER.index(name), "") if name in SET_ORDER else (len(SET_ORDER), name)


def activation_order(label: str) -> tuple[int, str]:
    base = label.split("(")[0]
    return (ACTIVATION_ORDER.index(base), label) if base in ACTIVATION_ORDER else (len(ACTIVATION_ORDER), label)


def summarize(jobs: Sequence[Job], psnr_key: str = "psnr_y", ssim_key: str = "ssim_y", paired: bool = True) -> Summary:
    """Group `jobs` into per-model sections; `paired=False` skips the per-image tests (means only)."""
    summary = Summary(sections=[], psnr_key=psnr_key, ssim_key=ssim_key)
    placeable = [j for j in jobs if _has_column(j)]
    summary.unplaced = [j for j in jobs if not _has_column(j)]
    models = sorted({j.model for j in placeable if j.model and j.model != BICUBIC}) or [BICUBIC]

    # A job whose preset could not be read (an unfinished run's config) belongs somewhere only when
    # there is one section to put it in.
    placed = []
    for job in placeable:
        if job.model is not None:
            placed.append(job)
        elif len(models) == 1:
            placed.append(replace(job, model=models[0]))
        else:
            summary.unplaced.append(job)

    finished: dict[tuple[str, int, str, int | None], Job] = {}
    for job in placed:
        if job.status != FINISHED:
            continue
        key = (job.model or BICUBIC, job.scale, job.activation, job.seed)
        if key in finished:
            summary.duplicates.append(job)
        else:
            finished[key] = job

    # Duplicates would also inflate the "k/n seeds" counts of the cells.
    ignored = {id(j) for j in summary.duplicates}
    placed = [j for j in placed if id(j) not in ignored]
    for model in models:
        in_model = [j for j in placed if j.model in (model, BICUBIC)]
        summary.sections.append(_section(model, in_model, finished, psnr_key, ssim_key, paired))
    return summary


def _has_column(job: Job) -> bool:
    return bool(job.activation) and job.scale is not None and job.status != UNREADABLE


def _section(
    model: str,
    jobs: list[Job],
    finished: dict[tuple[str, int, str, int | None], Job],
    psnr_key: str,
    ssim_key: str,
    paired: bool,
) -> Section:
    launched: dict[tuple[int, str], int] = defaultdict(int)
    excluded: dict[tuple[int, str], list[Job]] = defaultdict(list)
    for job in jobs:
        launched[(job.scale, job.activation)] += 1
        if job.status != FINISHED:
            excluded[(job.scale, job.activation)].append(job)

    # (scale, set, activation) -> finished jobs (one per seed) that evaluated that set.
    runs: dict[tuple[int, str, str], list[Job]] = defaultdict(list)
    for (m, scale, act, _seed), job in finished.items():
        if m not in (model, BICUBIC):
            continue
        for dataset, values in job.metrics.items():
            if isinstance(values, dict) and math.isfinite(number(values.get(psnr_key))):
                runs[(scale, dataset, act)].append(job)

    cells = {}
    for (scale, dataset, act), group in runs.items():
        cells[(scale, dataset, act)] = Cell(
            model=model,
            scale=scale,
            dataset=dataset,
            activation=act,
            seeds=tuple(j.seed for j in group),
            psnr=tuple(number(j.metrics[dataset].get(psnr_key)) for j in group),
            ssim=tuple(number(j.metrics[dataset].get(ssim_key)) for j in group),
        )
    for key, cell in list(cells.items()):
        scale, dataset, act = key
        reference = cells.get((scale, dataset, REFERENCE))
        if act in (REFERENCE, BICUBIC) or reference is None:
            continue
        cells[key] = _versus_reference(
            cell,
            reference,
            runs[(scale, dataset, act)],
            runs[(scale, dataset, REFERENCE)],
            psnr_key,
            paired,
        )

    scales = sorted({s for s, _ in launched})
    return Section(
        model=model,
        scales=scales,
        datasets={s: sorted({d for (sc, d, _) in cells if sc == s}, key=set_order) for s in scales},
        activations=sorted({a for _, a in launched}, key=activation_order),
        cells=cells,
        excluded=dict(excluded),
        launched=dict(launched),
    )


def _versus_reference(
    cell: Cell, reference: Cell, runs: list[Job], reference_runs: list[Job], psnr_key: str, paired: bool
) -> Cell:
    psnr, _ = cell.psnr_mean_std
    ssim, _ = cell.ssim_mean_std
    ref_psnr, _ = reference.psnr_mean_std
    ref_ssim, _ = reference.ssim_mean_std
    changes = {
        "pct_psnr": relative_change_pct(psnr, ref_psnr),
        "pct_ssim": relative_change_pct(ssim, ref_ssim),
    }
    if not paired:
        return replace(cell, **changes)
    diffs = paired_differences(cell.dataset, runs, reference_runs, psnr_key)
    low, high = bootstrap_mean_ci(diffs)
    p_value, p_note = wilcoxon_p(diffs)
    return replace(
        cell,
        **changes,
        dpsnr=sum(diffs) / len(diffs) if diffs else math.nan,
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        n_pairs=len(diffs),
        p_note=p_note if diffs else "no image pairs with a ReLU run of the same seed",
    )


def paired_differences(dataset: str, runs: list[Job], reference_runs: list[Job], key: str) -> list[float]:
    """Per-image (run - reference) of `key`, matched on seed and image name, pooled over seeds.

    Callers pass runs of one model and scale, so the match on those is already made.
    """
    reference_by_seed = {j.seed: j for j in reference_runs}
    diffs = []
    for job in sorted(runs, key=lambda j: (j.seed is None, j.seed or 0)):
        reference = reference_by_seed.get(job.seed)
        if reference is None:
            continue
        images = job.metrics[dataset].get("images") or {}
        reference_images = reference.metrics[dataset].get("images") or {}
        for name in sorted(set(images) & set(reference_images)):
            diff = _image_value(images[name], key) - _image_value(reference_images[name], key)
            if math.isfinite(diff):
                diffs.append(diff)
    return diffs


def _image_value(entry: object, key: str) -> float:
    return number(entry.get(key)) if isinstance(entry, dict) else math.nan

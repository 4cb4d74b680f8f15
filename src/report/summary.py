"""From jobs to table cells: group by model, scale, set and activation; seed-level comparisons vs ReLU.

Runs pair by seed (same seed = same initial weights and sample stream), so every difference vs ReLU is formed
per seed from set-level values, and inference is over seeds (`stats.paired_t`), never over pooled images.
Jobs that differ in anything but the activation and the seed (`collect.job_setting`) are neither pooled into
one cell nor compared: the summary names the difference.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from src.contracts.results import FINISHED
from src.models.activations import activation_order
from src.report.collect import BICUBIC, UNREADABLE, Job, number, setting_difference
from src.report.stats import Comparison, holm, mean_std, paired_t

REFERENCE = "relu"
SET_ORDER = ("DIV2K", "Set5", "Set14", "B100", "Urban100")
# The status given to a finished job left out of its cell because its setting differs from the cell's.
OTHER_SETTING = "other setting"


@dataclass(frozen=True)
class Cell:
    """One (model, scale, set, activation): finished seeds of one setting, and the comparison vs ReLU."""

    model: str
    scale: int
    dataset: str
    activation: str
    seeds: tuple[int | None, ...]
    psnr: tuple[float, ...]
    ssim: tuple[float, ...]
    # Per-seed (activation - ReLU of the same seed) of the set values; None for ReLU, bicubic and cells that
    # are not compared (`note` says why).
    psnr_vs_relu: Comparison | None = None
    ssim_vs_relu: Comparison | None = None
    note: str = ""

    @property
    def n_seeds(self) -> int:
        return len(self.psnr)

    @property
    def psnr_mean_std(self) -> tuple[float, float]:
        return mean_std(self.psnr)

    @property
    def ssim_mean_std(self) -> tuple[float, float]:
        return mean_std([v for v in self.ssim if math.isfinite(v)])


@dataclass(frozen=True)
class Primary:
    """The pre-specified primary endpoint of one (scale, activation): per seed, the ΔPSNR vs ReLU averaged over
    `datasets`, then the paired t over seeds."""

    scale: int
    activation: str
    datasets: tuple[str, ...]
    comparison: Comparison


@dataclass
class Section:
    """Everything one model contributes: one table section."""

    model: str
    scales: list[int]
    datasets: dict[int, list[str]]
    activations: list[str]
    cells: dict[tuple[int, str, str], Cell]
    # (scale, activation) -> jobs that count towards the column but are not averaged in.
    excluded: dict[tuple[int, str], list[Job]] = field(default_factory=dict)
    # (scale, activation) -> how many jobs were launched for the column, finished or not.
    launched: dict[tuple[int, str], int] = field(default_factory=dict)
    # (scale, activation) -> the primary endpoint, for every activation compared with ReLU.
    primary: dict[tuple[int, str], Primary] = field(default_factory=dict)
    # (scale, activation) -> why it is not compared with ReLU ("mish: world_size 4 vs relu: world_size 1").
    not_compared: dict[tuple[int, str], str] = field(default_factory=dict)


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


def column_order(label: str) -> tuple[int, tuple[int, str]]:
    """Bicubic first, then the activation registry's order."""
    return (0, ("", "")) if label == BICUBIC else (1, activation_order(label))


def summarize(jobs: Sequence[Job], psnr_key: str = "psnr_y", ssim_key: str = "ssim_y") -> Summary:
    """Group `jobs` into per-model sections with seed-level comparisons vs ReLU."""
    summary = Summary(sections=[], psnr_key=psnr_key, ssim_key=ssim_key)
    placeable = [j for j in jobs if _has_column(j)]
    summary.unplaced = [j for j in jobs if not _has_column(j)]
    models = sorted({j.model for j in placeable if j.model and j.model != BICUBIC}) or [BICUBIC]

    # A job whose model could not be read (an unfinished run's config) belongs somewhere only when there is
    # one section to put it in.
    placed = []
    for job in placeable:
        if job.model is not None:
            placed.append(job)
        elif len(models) == 1:
            placed.append(replace(job, model=models[0]))
        else:
            summary.unplaced.append(job)

    seen: set[tuple[str, int | None, str | None, int | None, str]] = set()
    kept = []
    for job in placed:
        key = (job.model or BICUBIC, job.scale, job.activation, job.seed, _setting_key(job))
        if job.status == FINISHED and key in seen:
            # Duplicates would also inflate the "k/n seeds" counts of the cells.
            summary.duplicates.append(job)
            continue
        seen.add(key)
        kept.append(job)
    for model in models:
        in_model = [j for j in kept if j.model in (model, BICUBIC)]
        summary.sections.append(_section(model, in_model, psnr_key, ssim_key))
    return summary


def _has_column(job: Job) -> bool:
    return bool(job.activation) and job.scale is not None and job.status != UNREADABLE


def _setting_key(job: Job) -> str:
    return json.dumps(job.setting, sort_keys=True, default=str)


def _section(model: str, jobs: list[Job], psnr_key: str, ssim_key: str) -> Section:
    launched: dict[tuple[int, str], int] = defaultdict(int)
    excluded: dict[tuple[int, str], list[Job]] = defaultdict(list)
    finished: dict[tuple[int, str], list[Job]] = defaultdict(list)
    for job in jobs:
        launched[(job.scale, job.activation)] += 1
        if job.status == FINISHED:
            finished[(job.scale, job.activation)].append(job)
        else:
            excluded[(job.scale, job.activation)].append(job)

    section = Section(
        model=model,
        scales=sorted({s for s, _ in launched}),
        datasets={},
        activations=sorted({a for _, a in launched}, key=column_order),
        cells={},
        excluded=excluded,
        launched=dict(launched),
    )
    for scale in section.scales:
        pooled = _one_setting_per_column(scale, finished, section)
        for act, group in pooled.items():
            for dataset in sorted({d for j in group for d in j.metrics}, key=set_order):
                runs = [j for j in group if math.isfinite(_set_value(j, dataset, psnr_key))]
                if runs:
                    section.cells[(scale, dataset, act)] = Cell(
                        model=model,
                        scale=scale,
                        dataset=dataset,
                        activation=act,
                        seeds=tuple(j.seed for j in runs),
                        psnr=tuple(_set_value(j, dataset, psnr_key) for j in runs),
                        ssim=tuple(_set_value(j, dataset, ssim_key) for j in runs),
                    )
        section.datasets[scale] = sorted({d for (s, d, _) in section.cells if s == scale}, key=set_order)
        for act in pooled:
            if act not in (REFERENCE, BICUBIC) and REFERENCE in pooled:
                _compare(section, scale, act)
    _adjust(section)
    section.excluded = dict(excluded)
    return section


def _one_setting_per_column(
    scale: int, finished: dict[tuple[int, str], list[Job]], section: Section
) -> dict[str, list[Job]]:
    """The finished jobs each activation column pools at `scale`: one setting per column.

    ReLU keeps its most common setting (the reference); another activation keeps the reference setting when it
    has runs in it, else its own most common one and is then not compared. Jobs of any other setting are listed
    apart (status OTHER_SETTING) with the difference named.
    """
    by_act = {act: jobs for (s, act), jobs in finished.items() if s == scale}
    reference = _most_common(by_act[REFERENCE]) if REFERENCE in by_act else None
    pooled = {}
    for act, jobs in by_act.items():
        if act == BICUBIC:  # evaluation of a fixed function: nothing to pool or compare
            pooled[act] = jobs
            continue
        settings = {_setting_key(j): j.setting for j in jobs}
        chosen = _setting_key_of(reference) if reference is not None else None
        if chosen not in settings:
            chosen = _setting_key_of(_most_common(jobs))
            if reference is not None:
                mine, theirs = setting_difference(settings[chosen], reference)
                section.not_compared[(scale, act)] = f"{act}: {mine} vs {REFERENCE}: {theirs}"
        pooled[act] = [j for j in jobs if _setting_key(j) == chosen]
        for job in jobs:
            if _setting_key(job) != chosen:
                mine, theirs = setting_difference(job.setting, settings[chosen])
                note = f"not pooled: {act}: {mine} vs the other {act} runs: {theirs}"
                section.excluded.setdefault((scale, act), []).append(replace(job, status=OTHER_SETTING, note=note))
    return pooled


def _most_common(jobs: list[Job]) -> dict:
    """The setting most jobs share; a tie goes to the setting of the lowest seed."""
    counts = Counter(_setting_key(j) for j in jobs)
    ordered = sorted(jobs, key=lambda j: (-counts[_setting_key(j)], j.seed is None, j.seed or 0))
    return ordered[0].setting


def _setting_key_of(setting: dict) -> str:
    return json.dumps(setting, sort_keys=True, default=str)


def _set_value(job: Job, dataset: str, key: str) -> float:
    values = job.metrics.get(dataset)
    return number(values.get(key)) if isinstance(values, dict) else math.nan


def seed_differences(cell: Cell, reference: Cell, ssim: bool = False) -> dict[int | None, float]:
    """seed -> (cell - reference) of the set value, for the seeds both have (finite values only)."""
    values, reference_values = (cell.ssim, reference.ssim) if ssim else (cell.psnr, reference.psnr)
    by_seed = dict(zip(reference.seeds, reference_values, strict=True))
    diffs = {seed: value - by_seed[seed] for seed, value in zip(cell.seeds, values, strict=True) if seed in by_seed}
    return {seed: d for seed, d in diffs.items() if math.isfinite(d)}


def _compare(section: Section, scale: int, act: str) -> None:
    if (scale, act) in section.not_compared:
        for dataset in section.datasets[scale]:
            cell = section.cells.get((scale, dataset, act))
            if cell is not None:
                section.cells[(scale, dataset, act)] = replace(cell, note=section.not_compared[(scale, act)])
        return
    per_set: dict[str, dict[int | None, float]] = {}
    for dataset in section.datasets[scale]:
        cell = section.cells.get((scale, dataset, act))
        reference = section.cells.get((scale, dataset, REFERENCE))
        if cell is None:
            continue
        if reference is None:
            section.cells[(scale, dataset, act)] = replace(cell, note=f"no {REFERENCE} run evaluated {dataset}")
            continue
        diffs = seed_differences(cell, reference)
        section.cells[(scale, dataset, act)] = replace(
            cell,
            psnr_vs_relu=paired_t(list(diffs.values())),
            ssim_vs_relu=paired_t(list(seed_differences(cell, reference, ssim=True).values())),
            note="" if diffs else f"no {REFERENCE} run with the same seed",
        )
        per_set[dataset] = diffs
    # Primary endpoint: only seeds paired on every set, so that each seed's average covers the same sets.
    datasets = tuple(d for d in per_set if per_set[d])
    if datasets:
        seeds = set.intersection(*(set(per_set[d]) for d in datasets))
        averages = [sum(per_set[d][s] for d in datasets) / len(datasets) for s in sorted(seeds, key=_seed_order)]
        section.primary[(scale, act)] = Primary(scale, act, datasets, paired_t(averages))


def _seed_order(seed: int | None) -> tuple[bool, int]:
    return seed is None, seed or 0


def _adjust(section: Section) -> None:
    """Holm across each family of the section: the primary endpoints, and the per-set ΔPSNR comparisons."""
    keys = list(section.primary)
    for key, p_adj in zip(keys, holm([section.primary[k].comparison.p_value for k in keys]), strict=True):
        section.primary[key] = replace(
            section.primary[key], comparison=replace(section.primary[key].comparison, p_adj=p_adj)
        )
    keys = [k for k, c in section.cells.items() if c.psnr_vs_relu is not None]
    adjusted = holm([section.cells[k].psnr_vs_relu.p_value for k in keys])
    for key, p_adj in zip(keys, adjusted, strict=True):
        cell = section.cells[key]
        section.cells[key] = replace(cell, psnr_vs_relu=replace(cell.psnr_vs_relu, p_adj=p_adj))

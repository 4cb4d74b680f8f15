"""From jobs to table cells: sections per model and setting, cells per scale, set and level of the factor,
seed-level comparisons vs the reference level, and a verdict per comparison.

Two jobs are replicates only when their identities differ in nothing but the seed, and compared only when they
differ in nothing but the factor and the seed (src/contracts/identity.py). A model whose jobs ran in several
settings (another `optim.lr`, another world size) gets a section per setting, named by the keys that differ; a
level with no reference run in its own setting is not compared, and the report names the keys in which the
reference runs differ. Runs pair by seed, so every difference is formed per seed from set-level values and
inference is over seeds (`stats.paired_t`); the verdicts hold the family-wise error rate over each section.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from src.contracts.identity import describe_differences, differences
from src.contracts.results import FINISHED
from src.report.collect import BICUBIC, MISMATCHED, PSNR_RANGE, UNFINISHED, UNREADABLE, Job, number
from src.report.crossed import CrossedInterval, crossed_interval
from src.report.decisions import ALPHA, DEFAULT_MARGIN, family_verdicts, paired_tests
from src.report.factor import Factor
from src.report.factor import value_text as factor_value_text
from src.report.stats import Comparison, mean_std, minimum_detectable_effect, paired_t

SET_ORDER = ("DIV2K", "Set5", "Set14", "B100", "Urban100")


@dataclass(frozen=True)
class Cell:
    """One (model, setting, scale, set, level): the finished seeds, and the comparison vs the reference level."""

    model: str
    scale: int
    dataset: str
    level: str
    seeds: tuple[int | None, ...]
    psnr: tuple[float, ...]
    ssim: tuple[float, ...]
    # Per seed, image name -> the image's PSNR (for the interval that treats images as sampled).
    images: tuple[dict[str, float], ...] = ()
    # Per-seed (level - reference of the same seed) of the set values; None for the reference, bicubic and
    # cells that are not compared (`note` says why).
    psnr_vs_reference: Comparison | None = None
    ssim_vs_reference: Comparison | None = None
    note: str = ""

    @property
    def is_bicubic(self) -> bool:
        """The bicubic reference column: one deterministic value, never compared or given a spread."""
        return self.level == BICUBIC

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
    """The pre-specified primary endpoint of one (scale, level): per seed, the ΔPSNR vs the reference averaged
    over `datasets` (`diffs`), then the paired t over seeds; and the interval that also samples images."""

    scale: int
    level: str
    datasets: tuple[str, ...]
    comparison: Comparison
    diffs: dict[int | None, float] = field(default_factory=dict)
    crossed: CrossedInterval | None = None
    crossed_note: str = ""


@dataclass
class Section:
    """Everything one model contributes in one setting: one table section."""

    model: str
    # How this setting differs from the model's other settings ("optim.lr=0.001"); "" when it has one.
    label: str
    reference: str
    scales: list[int]
    datasets: dict[int, list[str]]
    levels: list[str]
    cells: dict[tuple[int, str, str], Cell]
    # scale -> the setting (identity without the factor and the seed) its trained jobs share.
    settings: dict[int, dict[str, Any]] = field(default_factory=dict)
    # (scale, level) -> jobs that count towards the column but are not averaged in.
    excluded: dict[tuple[int, str], list[Job]] = field(default_factory=dict)
    # (scale, level) -> how many jobs were launched for the column, finished or not.
    launched: dict[tuple[int, str], int] = field(default_factory=dict)
    primary: dict[tuple[int, str], Primary] = field(default_factory=dict)
    # (scale, level) -> why it is not compared with the reference.
    not_compared: dict[tuple[int, str], str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.model}, {self.label}" if self.label else self.model

    def is_compared(self, level: str) -> bool:
        return level not in (self.reference, BICUBIC)


@dataclass
class Summary:
    sections: list[Section]
    psnr_key: str
    ssim_key: str
    factor: Factor = field(default_factory=Factor)
    margin: float = DEFAULT_MARGIN
    # Jobs that fit no column (no level/scale/model known, unreadable, another checkpoint) and duplicates.
    unplaced: list[Job] = field(default_factory=list)
    duplicates: list[Job] = field(default_factory=list)


def set_order(name: str) -> tuple[int, str]:
    return (SET_ORDER.index(name), "") if name in SET_ORDER else (len(SET_ORDER), name)


def summarize(
    jobs: Sequence[Job],
    psnr_key: str = "psnr_y",
    ssim_key: str = "ssim_y",
    factor: Factor | None = None,
    margin: float = DEFAULT_MARGIN,
) -> Summary:
    """Group `jobs` into sections per model and setting with seed-level comparisons vs the reference level."""
    summary = Summary([], psnr_key, ssim_key, factor or Factor(), margin)
    labels = _labels(jobs, summary.factor)
    placed = _place(_drop_duplicates(jobs, labels, summary), labels, summary)
    bicubic = [j for j in placed if j.is_bicubic]
    groups = _setting_groups([j for j in placed if not j.is_bicubic], summary.factor)
    reference = next((labels[j.path] for j in placed if summary.factor.is_reference(j)), summary.factor.reference)
    for (model, label), group in sorted(groups.items()):
        scales = {j.scale for j in group}
        section = _section(model, label, reference, group + [j for j in bicubic if j.scale in scales], labels, summary)
        ordered = sorted(group, key=lambda j: j.status == FINISHED)  # a finished job's setting wins
        section.settings = {j.scale: summary.factor.setting(j) for j in ordered if j.scale is not None}
        summary.sections.append(section)
    if not groups and bicubic:
        summary.sections.append(_section(BICUBIC, "", reference, bicubic, labels, summary))
    for section in summary.sections:
        for scale in section.scales:
            for level in section.levels:
                if section.is_compared(level) and any(k[0] == scale and k[2] == level for k in section.cells):
                    _compare(section, scale, level, summary)
        _decide(section)
    _name_missing_references(summary)
    return summary


def _labels(jobs: Sequence[Job], factor: Factor) -> dict[Any, str]:
    """Each job's column. An unfinished job only has its Hydra config; a finished job with the same factor values
    tells its label (`lrelu(0.2)` is made by the training code, not re-derived here)."""
    known = {_key(factor.values(j)): factor.label(j) for j in jobs if j.status != UNFINISHED and j.activation}
    return {
        j.path: known.get(_key(factor.values(j)), factor.label(j)) if j.status == UNFINISHED else factor.label(j)
        for j in jobs
    }


def _drop_duplicates(jobs: Sequence[Job], labels: dict[Any, str], summary: Summary) -> list[Job]:
    """A second finished job with the same identity (seed included) would count twice: listed, not used."""
    seen: set[str] = set()
    kept = []
    for job in jobs:
        key = _key({**job.identity, "": [labels[job.path], job.model, job.scale, job.seed]})
        if job.status == FINISHED and key in seen:
            summary.duplicates.append(job)
            continue
        seen.add(key)
        kept.append(job)
    return kept


def _place(jobs: Sequence[Job], labels: dict[Any, str], summary: Summary) -> list[Job]:
    """The jobs that have a column; the others go to `summary.unplaced`."""
    placeable = [j for j in jobs if labels[j.path] and j.scale is not None and j.status not in (UNREADABLE, MISMATCHED)]
    summary.unplaced = [j for j in jobs if j not in placeable]
    models = sorted({j.model for j in placeable if j.model and not j.is_bicubic})
    placed = []
    for job in placeable:
        if job.model is None and len(models) == 1:
            job = replace(job, model=models[0])
        (placed if job.model is not None else summary.unplaced).append(job)
    return placed


def _key(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _setting_groups(jobs: list[Job], factor: Factor) -> dict[tuple[str, str], list[Job]]:
    """(model, setting label) -> jobs: one group per setting of a model, labelled by the keys in which the
    settings of the same model and scale differ ('' where the model has one setting at each scale)."""
    by_scale: dict[tuple[str, int], dict[str, dict[str, Any]]] = defaultdict(dict)
    settings_of = {job.path: _setting_of(job, jobs, factor) for job in jobs}
    for job in jobs:
        by_scale[(job.model, job.scale)][_key(settings_of[job.path])] = settings_of[job.path]
    names: dict[tuple[str, int, str], str] = {}
    for (model, scale), settings in by_scale.items():
        varying = sorted({k for s in settings.values() for t in settings.values() for k in differences(s, t)})
        for key, setting in settings.items():
            shown = ", ".join(f"{k}={_shown(setting, k)}" for k in varying[:4])
            names[(model, scale, key)] = shown + (f" (+{len(varying) - 4} more)" if len(varying) > 4 else "")
    groups: dict[tuple[str, str], list[Job]] = defaultdict(list)
    for job in jobs:
        groups[(job.model, names[(job.model, job.scale, _key(settings_of[job.path]))])].append(job)
    return groups


def _shown(setting: dict[str, Any], key: str) -> str:
    return factor_value_text(setting[key])[:40] if key in setting else "(unset)"


def _setting_of(job: Job, jobs: list[Job], factor: Factor) -> dict[str, Any]:
    """The job's setting; an unfinished job, whose identity lacks what only a finished run records (world size,
    precision), takes the setting of the finished jobs of its model and scale that agree on every key it has."""
    mine = factor.setting(job)
    if job.status != UNFINISHED:
        return mine
    for other in jobs:
        theirs = factor.setting(other)
        siblings = other.status != UNFINISHED and (other.model, other.scale) == (job.model, job.scale)
        if siblings and set(mine) <= set(theirs) and all(theirs[k] == v for k, v in mine.items()):
            return theirs
    return mine


def _section(
    model: str, label: str, reference: str, jobs: list[Job], labels: dict[Any, str], summary: Summary
) -> Section:
    launched: dict[tuple[int, str], int] = defaultdict(int)
    excluded: dict[tuple[int, str], list[Job]] = defaultdict(list)
    finished: dict[tuple[int, str], list[Job]] = defaultdict(list)
    for job in jobs:
        column = (job.scale, labels[job.path])
        launched[column] += 1
        (finished if job.status == FINISHED else excluded)[column].append(job)
    levels = sorted({a for _, a in launched}, key=lambda a: summary.factor.order(a, reference))
    section = Section(model, label, reference, sorted({s for s, _ in launched}), {}, levels, {})
    section.excluded, section.launched = dict(excluded), dict(launched)
    for (scale, level), group in finished.items():
        for dataset in sorted({d for j in group for d in j.metrics}, key=set_order):
            runs = [j for j in group if math.isfinite(set_value(j, dataset, summary.psnr_key))]
            if runs:
                section.cells[(scale, dataset, level)] = Cell(
                    model,
                    scale,
                    dataset,
                    level,
                    seeds=tuple(j.seed for j in runs),
                    psnr=tuple(set_value(j, dataset, summary.psnr_key) for j in runs),
                    ssim=tuple(set_value(j, dataset, summary.ssim_key) for j in runs),
                    images=tuple(image_values(j, dataset, summary.psnr_key) for j in runs),
                )
    for scale in section.scales:
        section.datasets[scale] = sorted({d for (s, d, _) in section.cells if s == scale}, key=set_order)
    return section


def set_value(job: Job, dataset: str, key: str) -> float:
    values = job.metrics.get(dataset)
    return number(values.get(key)) if isinstance(values, dict) else math.nan


def image_values(job: Job, dataset: str, key: str) -> dict[str, float]:
    """Image name -> value, for the images whose value is a number in range."""
    values = job.metrics.get(dataset)
    images = values.get("images") if isinstance(values, dict) else None
    if not isinstance(images, dict):
        return {}
    found = {name: number(v.get(key)) if isinstance(v, dict) else math.nan for name, v in images.items()}
    return {name: v for name, v in found.items() if PSNR_RANGE[0] <= v <= PSNR_RANGE[1]}


def seed_differences(cell: Cell, reference: Cell, ssim: bool = False) -> dict[int | None, float]:
    """seed -> (cell - reference) of the set value, for the seeds both have (finite values only)."""
    values, reference_values = (cell.ssim, reference.ssim) if ssim else (cell.psnr, reference.psnr)
    by_seed = dict(zip(reference.seeds, reference_values, strict=True))
    diffs = {seed: value - by_seed[seed] for seed, value in zip(cell.seeds, values, strict=True) if seed in by_seed}
    return {seed: d for seed, d in diffs.items() if math.isfinite(d)}


def compare(diffs: Sequence[float], margin: float) -> Comparison:
    """The paired t-interval over seeds and both tests (difference, and equivalence within +-margin); the
    family's adjustment and verdict come later (`_decide`)."""
    tests = paired_tests(diffs, margin)
    return replace(paired_t(diffs), p_value=tests.p_difference, p_equivalence=tests.p_equivalence)


def _compare(section: Section, scale: int, level: str, summary: Summary) -> None:
    if not any(k[0] == scale and k[2] == section.reference for k in section.cells):
        section.not_compared[(scale, level)] = f"no {section.reference} run in this setting"
        return
    per_set: dict[str, dict[int | None, float]] = {}
    for dataset in section.datasets[scale]:
        cell = section.cells.get((scale, dataset, level))
        reference = section.cells.get((scale, dataset, section.reference))
        if cell is None:
            continue
        if reference is None:
            section.cells[(scale, dataset, level)] = replace(cell, note=f"no {section.reference} run scored {dataset}")
            continue
        diffs = seed_differences(cell, reference)
        section.cells[(scale, dataset, level)] = replace(
            cell,
            psnr_vs_reference=compare(list(diffs.values()), summary.margin),
            ssim_vs_reference=paired_t(list(seed_differences(cell, reference, ssim=True).values())),
            note="" if diffs else f"no {section.reference} run with the same seed",
        )
        per_set[dataset] = diffs
    datasets = tuple(d for d in per_set if per_set[d])
    if datasets:
        section.primary[(scale, level)] = _primary(section, scale, level, datasets, per_set, summary.margin)


def _primary(
    section: Section,
    scale: int,
    level: str,
    datasets: tuple[str, ...],
    per_set: dict[str, dict[int | None, float]],
    margin: float,
) -> Primary:
    """Only seeds paired on every set, so that each seed's average covers the same sets."""
    seeds = sorted(set.intersection(*(set(per_set[d]) for d in datasets)), key=_seed_order)
    diffs = {s: sum(per_set[d][s] for d in datasets) / len(datasets) for s in seeds}
    crossed, why = _crossed(section, scale, level, datasets, seeds)
    return Primary(scale, level, datasets, compare(list(diffs.values()), margin), diffs, crossed, why)


def _crossed(
    section: Section, scale: int, level: str, datasets: tuple[str, ...], seeds: list[int | None]
) -> tuple[CrossedInterval | None, str]:
    """The seeds x images array of paired per-image differences behind the primary endpoint, and its interval;
    each set weighs 1/len(datasets), shared equally by its images (the set value is the mean of its images)."""
    import numpy as np

    columns, weights = [], []
    for dataset in datasets:
        cell, reference = section.cells[(scale, dataset, level)], section.cells[(scale, dataset, section.reference)]
        mine = {s: cell.images[cell.seeds.index(s)] for s in seeds}
        theirs = {s: reference.images[reference.seeds.index(s)] for s in seeds}
        names = sorted(set.intersection(*(set(mine[s]) & set(theirs[s]) for s in seeds)))
        if not names:
            return None, f"no per-image values on {dataset}"
        columns += [[mine[s][name] - theirs[s][name] for s in seeds] for name in names]
        weights += [1.0 / (len(datasets) * len(names))] * len(names)
    interval = crossed_interval(np.array(columns).T, np.array(weights))
    return interval, "" if interval is not None else "needs 2 seeds and 2 images"


def _seed_order(seed: int | None) -> tuple[bool, int]:
    return seed is None, seed or 0


def _decide(section: Section) -> None:
    """Holm over each family of the section (its primary endpoints; its per-set ΔPSNR comparisons), for the
    stars and the equivalence claims alike; each comparison's MDE is that of the test that makes its star,
    at the conservative level alpha / m (a p below it is starred whatever the others' p-values)."""
    keys = list(section.primary)
    decided = _family([section.primary[k].comparison for k in keys])
    for key, comparison in zip(keys, decided, strict=True):
        section.primary[key] = replace(section.primary[key], comparison=comparison)
    keys = [k for k, c in section.cells.items() if c.psnr_vs_reference is not None]
    decided = _family([section.cells[k].psnr_vs_reference for k in keys])
    for key, comparison in zip(keys, decided, strict=True):
        section.cells[key] = replace(section.cells[key], psnr_vs_reference=comparison)


def family_size(comparisons: Sequence[Comparison]) -> int:
    """Holm's m: the comparisons of the family that have a p-value."""
    return sum(math.isfinite(c.p_value) for c in comparisons)


def _family(comparisons: list[Comparison]) -> list[Comparison]:
    from src.report.decisions import PairedTests

    m = family_size(comparisons)
    tests = [PairedTests(c.n, c.mean, c.p_value, c.p_equivalence) for c in comparisons]
    return [
        replace(
            c,
            p_adj=d.p_difference_adj,
            p_equivalence_adj=d.p_equivalence_adj,
            verdict=d.verdict,
            mde_80=minimum_detectable_effect(c.sd, c.n, ALPHA / max(m, 1)),
        )
        for c, d in zip(comparisons, family_verdicts(tests), strict=True)
    ]


def _name_missing_references(summary: Summary) -> None:
    """Where a level has no reference run in its setting, name the keys in which the model's reference runs at
    that scale differ (`optim.lr 0.01 vs 0.001`)."""
    for section in summary.sections:
        for (scale, level), why in list(section.not_compared.items()):
            others = [
                other.settings[scale]
                for other in summary.sections
                if other is not section
                and other.model == section.model
                and scale in other.settings
                and any(k[0] == scale and k[2] == other.reference for k in other.cells)
            ]
            mine = section.settings.get(scale, {})
            if others:
                nearest = min(others, key=lambda s: len(differences(mine, s)))
                why += f"; the {section.reference} runs differ: {describe_differences(mine, nearest)}"
            section.not_compared[(scale, level)] = why
            for dataset in section.datasets[scale]:
                cell = section.cells.get((scale, dataset, level))
                if cell is not None:
                    section.cells[(scale, dataset, level)] = replace(cell, note=why)


@dataclass(frozen=True)
class EndpointDifferences:
    """One comparison's primary endpoint per seed: the mean over `datasets` of ΔPSNR vs the reference."""

    model: str
    setting: str
    scale: int
    level: str
    reference: str
    datasets: tuple[str, ...]
    diffs: dict[int | None, float]


def primary_differences(
    jobs: Sequence[Job], factor: Factor | None = None, psnr_key: str = "psnr_y"
) -> list[EndpointDifferences]:
    """Per comparison vs the reference, the per-seed differences of the primary endpoint (the mean over the test
    sets of Δ`psnr_key` vs the reference run of the same seed), with the pooling and like-with-like rules of
    the tables: what a sequential study (src/study/) tests at each look."""
    summary = summarize(jobs, psnr_key, psnr_key.replace("psnr", "ssim"), factor)
    return [
        EndpointDifferences(s.model, s.label, p.scale, p.level, s.reference, p.datasets, dict(p.diffs))
        for s in summary.sections
        for p in s.primary.values()
    ]

"""Per-image effects: each test image's difference vs the reference level, per seed and averaged over seeds.

A set's PSNR is the mean of its images' PSNRs, so a level's set difference is exactly the mean of its per-image
differences. Sorting those shows whether a difference is broad (most images move together) or carried by a few
images (one near-flat image can move the set mean by more than the effect under study). Differences are formed
per seed (level - reference of the same seed, which shares its initial weights and sample stream), then averaged.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from src.contracts.errors import UserError
from src.report.image_records import SetRecord, by_group, by_level_seed

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# Image names stay legible as tick labels up to this many images; beyond it only the extremes are named.
MAX_NAMED = 24
PANEL_COLUMNS = 4  # panels per row when a scale has a single test set
PAGE_INCHES = 18.0  # the widest a figure gets: a screen, or a page at a readable zoom


@dataclass(frozen=True)
class ImageDifference:
    """One image's difference `level - reference` at one scale and set, per paired seed."""

    scale: int
    set_name: str
    image: str
    level: str
    reference: str
    metric: str
    seeds: dict[int, float] = field(repr=False)  # seed -> level - reference of that seed
    reference_mean: float  # the reference's value on this image, mean over the paired seeds

    @property
    def mean(self) -> float:
        return statistics.fmean(self.seeds.values())


def levels_in_order(records: Sequence[SetRecord]) -> list[str]:
    """Levels in the order the caller gave them (first appearance)."""
    return list(dict.fromkeys(r.level for r in records))


def image_differences(records: Sequence[SetRecord], reference: str, metric: str = "psnr_y") -> list[ImageDifference]:
    """Per (scale, set, level other than `reference`, image): the per-seed differences over the seeds both levels
    ran, sorted by scale, set, level (caller's order) and mean difference. Images scored by only one side and
    levels with no seed in common with the reference are left out."""
    order = {level: i for i, level in enumerate(levels_in_order(records))}
    rows = []
    for (scale, set_name), group in by_group(records).items():
        runs = by_level_seed(group)
        ref = runs.get(reference, {})
        for level, level_runs in runs.items():
            seeds = sorted(set(level_runs) & set(ref)) if level != reference else []
            if not seeds:
                continue
            images = set.intersection(*(set(level_runs[s].images) & set(ref[s].images) for s in seeds))
            for image in images:
                diffs = {s: level_runs[s].images[image][metric] - ref[s].images[image][metric] for s in seeds}
                base = statistics.fmean(ref[s].images[image][metric] for s in seeds)
                rows.append(ImageDifference(scale, set_name, image, level, reference, metric, diffs, base))
    return sorted(rows, key=lambda r: (r.scale, r.set_name, order[r.level], r.mean, r.image))


def half_share(deltas: Sequence[float]) -> int:
    """How few images hold half of the total |difference|: 1 or 2 means a few images carry the set's
    difference; about half the set means it is broad."""
    sizes = sorted((abs(d) for d in deltas), reverse=True)
    total, running = sum(sizes), 0.0
    for k, size in enumerate(sizes, start=1):
        running += size
        if running >= total / 2:
            return k
    return len(sizes)


def csv_text(rows: Sequence[ImageDifference]) -> str:
    """One row per (scale, set, image, level): rank within its panel (1 = most negative), the mean, min and max
    over seeds, the reference's own value, then one column per seed (empty where that seed was not paired)."""
    seeds = sorted({s for r in rows for s in r.seeds})
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        ["scale", "set", "image", "level", "reference", "metric", "rank", "n_seeds", "delta_mean", "delta_min",
         "delta_max", "reference_mean", *(f"seed_{s}" for s in seeds)]
    )  # fmt: skip
    rank: dict[tuple[int, str, str], int] = {}
    for r in rows:
        panel = (r.scale, r.set_name, r.level)
        rank[panel] = rank.get(panel, 0) + 1
        values = r.seeds.values()
        writer.writerow(
            [r.scale, r.set_name, r.image, r.level, r.reference, r.metric, rank[panel], len(r.seeds),
             f"{r.mean:.6f}", f"{min(values):.6f}", f"{max(values):.6f}", f"{r.reference_mean:.6f}",
             *(f"{r.seeds[s]:.6f}" if s in r.seeds else "" for s in seeds)]
        )  # fmt: skip
    return buffer.getvalue()


def new_figure(width: float, height: float) -> Figure:
    """A matplotlib figure on the Agg canvas: no pyplot state, no display (matplotlib is slow to import)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _panel(axes: Axes, rows: Sequence[ImageDifference], unit: str) -> None:
    """Sorted bars of the seed mean per image, every seed a dot, the set difference as a dashed line."""
    means = np.array([r.mean for r in rows])
    x = np.arange(len(rows))
    colors = np.where(means < 0, "#4477aa", "#ee7733")
    axes.bar(x, means, width=0.7, color=colors, alpha=0.55, zorder=2)
    seeds = sorted({s for r in rows for s in r.seeds})
    for j, seed in enumerate(seeds):
        offset = (j - (len(seeds) - 1) / 2) * min(0.5 / max(len(seeds), 1), 0.12)
        points = [(i + offset, r.seeds[seed]) for i, r in enumerate(rows) if seed in r.seeds]
        px, py = zip(*points, strict=True)
        axes.plot(
            px,
            py,
            "o",
            color="0.15",
            markersize=2.6 if len(rows) <= MAX_NAMED else 1.6,
            alpha=0.8,
            zorder=3,
            label="seeds" if j == 0 else None,
        )
    set_mean = float(means.mean())
    axes.axhline(0.0, color="0.3", linewidth=0.8)
    axes.axhline(set_mean, color="#cc3311", linestyle="--", linewidth=1.0, label=f"set {set_mean:+.3f}")
    below = int((means < 0).sum())
    first = rows[0]
    axes.set_title(
        f"{first.level} − {first.reference}, {first.set_name} x{first.scale}\n"
        f"{below} of {len(rows)} images < 0; half of Σ|Δ| in {half_share(list(means))}",
        fontsize=9,
    )
    axes.set_ylabel(f"Δ{unit}", fontsize=8)
    _image_ticks(axes, [r.image for r in rows])
    axes.legend(fontsize=7, loc="upper left", frameon=False)
    axes.grid(axis="y", alpha=0.3)


def _image_ticks(axes: Axes, names: Sequence[str]) -> None:
    """Every image named when few; else the three lowest and three highest, named under the axis."""
    axes.tick_params(labelsize=7)
    if len(names) <= MAX_NAMED:
        axes.set_xticks(range(len(names)), names, rotation=60, ha="right", fontsize=7)
        return
    axes.set_xticks([])
    axes.set_xlabel(
        f"{len(names)} images, sorted\nlowest: {', '.join(names[:3])}\nhighest: {', '.join(names[:-4:-1])}", fontsize=7
    )


def figure(rows: Sequence[ImageDifference], scale: int) -> Figure:
    """One panel per (level, set) at `scale`: a row per level and a column per set when there are several
    sets, else the levels wrapped into rows."""
    panels: dict[tuple[str, str], list[ImageDifference]] = {}
    for r in rows:
        if r.scale == scale:
            panels.setdefault((r.level, r.set_name), []).append(r)
    sets = list(dict.fromkeys(s for _, s in panels))
    levels = list(dict.fromkeys(lv for lv, _ in panels))
    widest = max(len(p) for p in panels.values())
    # Named images need room for their labels; beyond MAX_NAMED the bars only need to be seen.
    width = 0.22 * widest + 1.2 if widest <= MAX_NAMED else 4.5
    wrapped = max(1, min(PANEL_COLUMNS, len(panels), int(PAGE_INCHES // width)))
    columns = len(sets) if len(sets) > 1 else wrapped
    width = max(3.4, min(width, PAGE_INCHES / columns))
    lines = len(levels) if len(sets) > 1 else math.ceil(len(panels) / columns)
    fig = new_figure(width * columns, 2.9 * lines)
    grid = fig.add_gridspec(lines, columns)
    unit = rows[0].metric.upper().replace("_", "-")
    for i, ((level, set_name), panel_rows) in enumerate(panels.items()):
        at = (levels.index(level), sets.index(set_name)) if len(sets) > 1 else divmod(i, columns)
        _panel(fig.add_subplot(grid[at]), panel_rows, unit)
    return fig


def write_per_image(
    records: Sequence[SetRecord], reference: str, out_dir: Path, metric: str = "psnr_y", tag: str = ""
) -> list[Path]:
    """per_image.csv and a per_image_x<scale>.png per scale into `out_dir`; the paths written. `tag` goes into
    the file names (per_image_<tag>.csv, per_image_<tag>_x2.png) when one report draws several comparisons, such
    as one per model of an architectures sweep."""
    rows = image_differences(records, reference, metric)
    if not rows:
        levels = ", ".join(levels_in_order(records)) or "none"
        raise UserError(
            f"no per-image differences: no level ran a seed that a {reference} run also ran on the same set and "
            f"scale (levels found: {levels}); run the reference with the same seeds"
        )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"per_image_{tag}" if tag else "per_image"
    written = [out_dir / f"{stem}.csv"]
    written[0].write_text(csv_text(rows))
    for scale in sorted({r.scale for r in rows}):
        path = out_dir / f"{stem}_x{scale}.png"
        figure(rows, scale).savefig(path, dpi=110)
        written.append(path)
    return written

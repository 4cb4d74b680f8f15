"""PNG figures: activation curves (the paper's Fig. 2), ΔPSNR vs ReLU with CIs, training curves.

matplotlib is imported inside the functions (it is slow to import) and used through the Agg canvas
directly, so no pyplot state or display is involved.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from src.models.activations import formula_values
from src.report.collect import Job, number
from src.report.decisions import BETTER, EQUIVALENT, WORSE
from src.report.factor import column_order, display_name
from src.report.summary import Cell, Section, Summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_LINESTYLES = ("-", "--", ":", "-.")
# How a verdict is marked on the ΔPSNR plots: filled for a difference, a diamond for equivalence, hollow otherwise.
_VERDICT_MARKERS = {BETTER: ("o", True), WORSE: ("o", True), EQUIVALENT: ("D", True)}


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _colors(labels: Sequence[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    palette = colormaps["tab10"].colors
    return {label: palette[i % len(palette)] for i, label in enumerate(sorted(labels, key=column_order))}


def activation_figure(activations: dict[str, dict[str, Any]]) -> tuple[Figure, list[str]]:
    """The activation functions over [-4, 4] (formulas from the activation registry), and the labels that have
    no formula there."""
    x = np.linspace(-4.0, 4.0, 801)
    figure = _figure(6.0, 4.5)
    axes = figure.add_subplot()
    colors = _colors(list(activations))
    unknown = []
    for i, label in enumerate(sorted(activations, key=column_order)):
        y = formula_values(label, activations[label], x)
        if y is None:
            unknown.append(label)
            continue
        style = _LINESTYLES[i % len(_LINESTYLES)]
        axes.plot(x, y, style, color=colors[label], label=display_name(label), linewidth=1.8)
    axes.axhline(0.0, color="0.6", linewidth=0.6)
    axes.axvline(0.0, color="0.6", linewidth=0.6)
    axes.set(xlim=(-4, 4), ylim=(-1.5, 4.0), xlabel="x", ylabel="f(x)", title="Activation functions")
    axes.legend()
    axes.grid(alpha=0.3)
    return figure, unknown


def activation_curves(activations: dict[str, dict[str, Any]], path: Path) -> list[str]:
    """Write the activation functions (the paper's Fig. 2) to `path`; returns the labels that could not be drawn."""
    figure, unknown = activation_figure(activations)
    figure.savefig(path, dpi=120)
    return unknown


def delta_psnr(summary: Summary, path: Path) -> bool:
    """Per-set paired ΔPSNR vs the reference with 95% CIs, a panel per (section, scale), the verdict marked and
    the equivalence margin shaded; False if nothing to draw."""
    panels = [
        (section, scale)
        for section in summary.sections
        for scale in section.scales
        if any(_compared(c) for c in section.cells.values() if c.scale == scale)
    ]
    if not panels:
        return False
    compared = sorted({c.level for s, _ in panels for c in s.cells.values() if _compared(c)}, key=column_order)
    colors = _colors(compared)
    figure = _figure(max(4.5, 3.2 * len(panels)), 4.2)
    single = False
    for i, (section, scale) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), i)
        single |= _delta_panel(axes, section, scale, compared, colors)
        axes.axhspan(-summary.margin, summary.margin, color="0.9", zorder=0)
        axes.set_title(f"{section.title} x{scale}", fontsize="small")
        if i == 1:
            axes.set_ylabel(f"ΔPSNR vs {display_name(section.reference)} (dB), 95% t-interval over seeds")
            axes.legend(fontsize="small")
    figure.supxlabel(
        f"filled: better/worse (Holm), diamond: equivalent within the shaded ±{summary.margin:g} dB, hollow: "
        "undecided" + ("; no bar: one paired seed, no interval" if single else ""),
        fontsize="small",
    )
    figure.savefig(path, dpi=120)
    return True


def _delta_panel(axes: Any, section: Section, scale: int, compared: list[str], colors: dict[str, Any]) -> bool:
    """One panel; True when a point is drawn without a bar (one paired seed: no interval to draw)."""
    datasets = [d for d in section.datasets[scale] if (scale, d, section.reference) in section.cells]
    width = 0.8 / max(len(compared), 1)
    single = False
    for j, act in enumerate(compared):
        cells = [section.cells.get((scale, d, act)) for d in datasets]
        points = [(k, c.psnr_vs_reference) for k, c in enumerate(cells) if c is not None and _compared(c)]
        for n, (k, c) in enumerate(points):
            x = k + (j - (len(compared) - 1) / 2) * width
            marker, filled = _VERDICT_MARKERS.get(c.verdict, ("o", False))
            style = {"mfc": colors[act] if filled else "white", "color": colors[act]}
            style["label"] = display_name(act) if n == 0 else None
            if math.isfinite(c.ci_low):
                error = [[c.mean - c.ci_low], [c.ci_high - c.mean]]
                axes.errorbar([x], [c.mean], yerr=error, fmt=marker, capsize=3, **style)
            else:
                single |= c.n < 2
                axes.plot([x], [c.mean], marker, **style)
    axes.axhline(0.0, color="0.4", linewidth=0.8)
    axes.set_xticks(range(len(datasets)), datasets, rotation=30)
    axes.grid(axis="y", alpha=0.3)
    return single


def _compared(cell: Cell) -> bool:
    return cell.psnr_vs_reference is not None and cell.psnr_vs_reference.n > 0


def _series(points: Any) -> tuple[np.ndarray, np.ndarray] | None:
    rows = [p for p in points if isinstance(p, (list, tuple)) and len(p) == 2] if isinstance(points, list) else []
    if not rows:
        return None
    steps, values = zip(*rows, strict=True)
    return np.array([number(s) for s in steps]), np.array([number(v) for v in values])


def training_curves(jobs: Sequence[Job], psnr_key: str, path: Path) -> bool:
    """train/loss and val/<set>/<psnr_key> against step for every job that logged them; False if none did."""
    logged = [j for j in jobs if j.activation and not j.is_bicubic and j.history]
    keys = sorted({k for j in logged for k in j.history if k.startswith("val/") and k.endswith(f"/{psnr_key}")})
    if any("train/loss" in j.history for j in logged):
        keys.insert(0, "train/loss")
    if not keys:
        return False
    colors = _colors(list({j.activation for j in logged}))
    scales = sorted({j.scale for j in logged if j.scale is not None})
    figure = _figure(4.5 * len(keys), 3.8)
    for i, key in enumerate(keys, start=1):
        axes = figure.add_subplot(1, len(keys), i)
        shown: set[str] = set()
        for job in sorted(logged, key=lambda j: column_order(j.activation or "")):
            series = _series(job.history.get(key))
            if series is None:
                continue
            label = display_name(job.activation) if job.activation not in shown else None
            shown.add(job.activation)
            style = _LINESTYLES[scales.index(job.scale) % len(_LINESTYLES)] if job.scale in scales else "-"
            axes.plot(*series, style, color=colors[job.activation], alpha=0.8, linewidth=1.0, label=label)
        if key == "train/loss" and axes.has_data():
            axes.set_yscale("log")
        axes.set(title=key, xlabel="step")
        axes.grid(alpha=0.3)
        if i == 1:
            _training_legend(axes, scales)
    figure.savefig(path, dpi=120)
    return True


def _training_legend(axes: Any, scales: list[int]) -> None:
    from matplotlib.lines import Line2D

    handles, labels = axes.get_legend_handles_labels()
    if len(scales) > 1:
        # Line style tells the scales apart; grey stand-ins explain it once.
        handles += [
            Line2D([], [], color="0.3", linestyle=_LINESTYLES[k % len(_LINESTYLES)]) for k in range(len(scales))
        ]
        labels += [f"x{scale}" for scale in scales]
    axes.legend(handles, labels, fontsize="small")

"""Across architectures: does an activation's effect vs ReLU hold in every model of the sweep?

For each model, scale and activation: its primary endpoint from the model's Table 1 (per seed, the mean over
the test sets of activation - ReLU of the same model, scale and seed, then the paired t over seeds: the training
run is the unit of replication). Beside the per-model intervals, whether the sign of the mean agrees across
models. Written as `architectures.md`, `architectures.csv` and `delta_psnr_models.png` (one panel per scale) when
the jobs hold two or more models.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from src.models.activations import activation_order, display_name
from src.report.stats import Comparison
from src.report.summary import Summary
from src.report.tables import interval_text


@dataclass(frozen=True)
class ModelDelta:
    """The seed-level ΔPSNR vs ReLU of one activation in one model at one scale, over `datasets`."""

    model: str
    scale: int
    activation: str
    datasets: tuple[str, ...]
    comparison: Comparison


def model_deltas(summary: Summary) -> list[ModelDelta]:
    """Every model's primary endpoints (Table 1's seed-level ΔPSNR vs ReLU averaged over the test sets), so this
    summary uses the same pairing, like-with-like checks and set choice as each model's own table."""
    return [
        ModelDelta(section.model, p.scale, p.activation, p.datasets, p.comparison)
        for section in summary.sections
        for p in section.primary.values()
    ]


def sign_agreement(deltas: Sequence[ModelDelta]) -> str:
    """'yes (+)', 'yes (-)' when every model's mean ΔPSNR has that sign; 'no' otherwise; '-' under two models."""
    means = [d.comparison.mean for d in deltas if math.isfinite(d.comparison.mean)]
    if len(means) < 2:
        return "-"
    if all(m > 0 for m in means):
        return "yes (+)"
    if all(m < 0 for m in means):
        return "yes (-)"
    return "no"


def _excludes_zero(c: Comparison) -> bool:
    return math.isfinite(c.ci_low) and (c.ci_low > 0 or c.ci_high < 0)


def _rows(deltas: Sequence[ModelDelta]) -> dict[tuple[int, str], dict[str, ModelDelta]]:
    rows: dict[tuple[int, str], dict[str, ModelDelta]] = {}
    for d in sorted(deltas, key=lambda d: (d.scale, activation_order(d.activation), d.model)):
        rows.setdefault((d.scale, d.activation), {})[d.model] = d
    return rows


def _cell(c: Comparison) -> str:
    if not math.isfinite(c.mean):
        return f"- ({c.note})"
    return f"{interval_text(c, 3)} (n={c.n})"


def markdown(deltas: Sequence[ModelDelta], psnr_key: str) -> str:
    models = sorted({d.model for d in deltas})
    rows = _rows(deltas)
    lines = [
        f"## Across architectures: ΔPSNR vs ReLU ({psnr_key}, dB)",
        "",
        "Per seed, the mean over the test sets of (activation - ReLU of the same model, scale and seed); then a "
        "paired t over seeds: mean [95% CI] (n = seeds). *Sign agrees*: every model's mean has the same sign; "
        "*CI excludes 0*: in how many models the interval does.",
    ]
    for scale in sorted({s for s, _ in rows}):
        lines += ["", f"### x{scale}", "", "| Activation | " + " | ".join(models) + " | Sign agrees | CI excludes 0 |"]
        lines.append("|---" * (len(models) + 3) + "|")
        for (s, act), by_model in rows.items():
            if s != scale:
                continue
            cells = [_cell(by_model[m].comparison) if m in by_model else "-" for m in models]
            excl = sum(_excludes_zero(d.comparison) for d in by_model.values())
            agree = sign_agreement(list(by_model.values()))
            lines.append(f"| {display_name(act)} | " + " | ".join(cells) + f" | {agree} | {excl} of {len(by_model)} |")
        sets = {m: d.datasets for (s, _), by_model in rows.items() if s == scale for m, d in by_model.items()}
        lines += ["", "Sets averaged: " + "; ".join(f"{m}: {', '.join(v)}" for m, v in sorted(sets.items())) + "."]
    return "\n".join(lines) + "\n"


def csv_text(deltas: Sequence[ModelDelta]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["scale", "activation", "model", "n_seeds", "sets", "dpsnr_mean", "dpsnr_sd", "ci_low", "ci_high"]
    writer.writerow([*header, "p_value", "mde_80", "sign_agrees", "note"])
    for (scale, act), by_model in _rows(deltas).items():
        agree = sign_agreement(list(by_model.values()))
        for model, d in by_model.items():
            c = d.comparison
            values = ["" if math.isnan(v) else v for v in (c.mean, c.sd, c.ci_low, c.ci_high, c.p_value, c.mde_80)]
            writer.writerow([scale, act, model, c.n, " ".join(d.datasets), *values, agree, c.note])
    return buffer.getvalue()


def plot(deltas: Sequence[ModelDelta], path: Path) -> None:
    """One panel per scale: each activation's ΔPSNR vs ReLU per model, with its 95% CI."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = _rows(deltas)
    scales = sorted({s for s, _ in rows})
    models = sorted({d.model for d in deltas})
    palette = colormaps["tab10"].colors
    figure = Figure(figsize=(4.0 * len(scales) + 1.0, 4.0), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(scales), sharey=True, squeeze=False)[0]
    width = 0.7 / len(models)
    for ax, scale in zip(axes, scales, strict=True):
        acts = [a for s, a in rows if s == scale]
        for i, model in enumerate(models):
            xs, ys, low, high = [], [], [], []
            for j, act in enumerate(acts):
                d = rows[(scale, act)].get(model)
                if d is None or not math.isfinite(d.comparison.mean):
                    continue
                c = d.comparison
                xs.append(j - 0.35 + width * (i + 0.5))
                ys.append(c.mean)
                low.append(c.mean - c.ci_low if math.isfinite(c.ci_low) else 0.0)
                high.append(c.ci_high - c.mean if math.isfinite(c.ci_high) else 0.0)
            ax.errorbar(xs, ys, yerr=[low, high], fmt="o", capsize=3, color=palette[i % len(palette)], label=model)
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.set_xticks(range(len(acts)), [display_name(a) for a in acts])
        ax.set_title(f"x{scale}")
    axes[0].set_ylabel("ΔPSNR vs ReLU (dB), 95% CI over seeds")
    axes[-1].legend(fontsize="small")
    figure.savefig(path, dpi=120)


def report(summary: Summary, out: Path) -> list[Path]:
    """Write and print the cross-architecture summary when the summary holds two or more models; the paths."""
    deltas = model_deltas(summary)
    if len({d.model for d in deltas}) < 2:
        return []
    text = markdown(deltas, summary.psnr_key)
    written = [out / "architectures.md", out / "architectures.csv", out / "delta_psnr_models.png"]
    out.mkdir(parents=True, exist_ok=True)
    written[0].write_text(text)
    written[1].write_text(csv_text(deltas))
    plot(deltas, written[2])
    print("\n" + text + "\n".join(f"wrote {p}" for p in written))
    return written

"""Across architectures: does a level's effect vs the reference hold over the models of the sweep?

For each model, scale and level: its primary endpoint from the model's Table 1 (per seed, the mean over the test
sets of level - reference of the same model, scale and seed, then the paired t over seeds: the training run is
the unit of replication), with the verdict of that model's table. Then the models pooled by a random-effects
meta-analysis (src/report/pooling.py: inverse-variance weights, DerSimonian-Laird tau^2, Hartung-Knapp t-interval
on k - 1 df) with Cochran's Q and I^2 as the heterogeneity; the pooled tests are Holm-adjusted over the pooled
comparisons of the summary and get verdicts with the same margin, like every other table. Written as
`architectures.md`, `architectures.csv` and `delta_psnr_models.png` (one panel per scale) when the jobs hold two
or more models.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from src.report.decisions import ALPHA, PairedTests, family_verdicts
from src.report.factor import column_order, display_name
from src.report.pooling import Pooled, equivalence_p, pool
from src.report.stats import Comparison
from src.report.summary import Summary
from src.report.tables import interval_text


@dataclass(frozen=True)
class ModelDelta:
    """The seed-level ΔPSNR vs the reference of one level in one model at one scale, over `datasets`."""

    model: str
    scale: int
    activation: str
    datasets: tuple[str, ...]
    comparison: Comparison


@dataclass(frozen=True)
class PooledRow:
    scale: int
    activation: str
    pooled: Pooled | None
    p_adj: float
    p_equivalence_adj: float
    verdict: str


def model_deltas(summary: Summary) -> list[ModelDelta]:
    """Every model's primary endpoints (Table 1's seed-level ΔPSNR vs the reference averaged over the test sets),
    so this summary uses the same pairing, like-with-like checks and set choice as each model's own table."""
    return [
        ModelDelta(section.title, p.scale, p.level, p.datasets, p.comparison)
        for section in summary.sections
        for p in section.primary.values()
    ]


def _rows(deltas: Sequence[ModelDelta]) -> dict[tuple[int, str], dict[str, ModelDelta]]:
    rows: dict[tuple[int, str], dict[str, ModelDelta]] = {}
    for d in sorted(deltas, key=lambda d: (d.scale, column_order(d.activation), d.model)):
        rows.setdefault((d.scale, d.activation), {})[d.model] = d
    return rows


def pooled_rows(deltas: Sequence[ModelDelta], margin: float) -> list[PooledRow]:
    """Per (scale, level): the models pooled, Holm-adjusted over every pooled comparison, with a verdict."""
    keys, pooled, tests = [], [], []
    for key, by_model in _rows(deltas).items():
        usable = [d.comparison for d in by_model.values() if d.comparison.n >= 2 and d.comparison.sd > 0]
        result = pool([c.mean for c in usable], [c.sd**2 / c.n for c in usable])
        keys.append(key)
        pooled.append(result)
        if result is None:
            tests.append(PairedTests(0, math.nan, math.nan, math.nan))
        else:
            tests.append(PairedTests(result.k, result.mean, result.p_value, equivalence_p(result, margin)))
    return [
        PooledRow(scale, act, result, d.p_difference_adj, d.p_equivalence_adj, d.verdict if result else "")
        for (scale, act), result, d in zip(keys, pooled, family_verdicts(tests), strict=True)
    ]


def _cell(c: Comparison) -> str:
    if not math.isfinite(c.mean):
        return f"- ({c.note})"
    return f"{interval_text(c, 3)} (n={c.n}) {c.verdict}".rstrip()


def _pooled_cells(row: PooledRow) -> list[str]:
    p = row.pooled
    if p is None:
        return ["- (needs 2 models with 2+ seeds)", "–", "–"]
    return [
        f"{p.mean:+.3f} [{p.ci_low:+.3f}, {p.ci_high:+.3f}] (p_adj={row.p_adj:.2g}) {row.verdict}",
        f"Q={p.q:.2f} (df {p.df}), I²={p.i2:.0%}",
        f"{p.k}",
    ]


def markdown(deltas: Sequence[ModelDelta], psnr_key: str, margin: float = 0.05, reference: str = "relu") -> str:
    models = sorted({d.model for d in deltas})
    rows, pooled = _rows(deltas), {(r.scale, r.activation): r for r in pooled_rows(deltas, margin)}
    ref = display_name(reference)
    lines = [
        f"## Across architectures: ΔPSNR vs {ref} ({psnr_key}, dB)",
        "",
        f"Per model: per seed, the mean over the test sets of (level - {ref} of the same model, scale and seed); "
        "then a paired t over seeds: mean [95% CI] (n = seeds) and the verdict of that model's table. *Pooled*: "
        "random-effects inverse-variance mean over the models (DerSimonian-Laird; Hartung-Knapp 95% t-interval "
        f"on k - 1 df), its p Holm-adjusted over the {len(pooled)} pooled comparisons, and its verdict (TOST "
        f"against ±{margin:g} dB, Holm-adjusted over the same comparisons, family-wise {ALPHA:.0%}). *Q, I²*: "
        "Cochran's heterogeneity between models and the share of their spread beyond what seeds explain.",
    ]
    for scale in sorted({s for s, _ in rows}):
        header = ["Level", *models, "Pooled", "Q, I²", "models"]
        lines += ["", f"### x{scale}", "", "| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
        for (s, act), by_model in rows.items():
            if s != scale:
                continue
            cells = [_cell(by_model[m].comparison) if m in by_model else "-" for m in models]
            cells += _pooled_cells(pooled[(s, act)])
            lines.append(f"| {display_name(act)} | " + " | ".join(cells) + " |")
        sets = {m: d.datasets for (s, _), by_model in rows.items() if s == scale for m, d in by_model.items()}
        lines += ["", "Sets averaged: " + "; ".join(f"{m}: {', '.join(v)}" for m, v in sorted(sets.items())) + "."]
    return "\n".join(lines) + "\n"


def csv_text(deltas: Sequence[ModelDelta], margin: float = 0.05) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["scale", "activation", "model", "n_seeds", "sets", "dpsnr_mean", "dpsnr_sd", "ci_low", "ci_high"]
    writer.writerow([*header, "p_value", "p_adj", "mde_80", "verdict", "note"])
    pooled = {(r.scale, r.activation): r for r in pooled_rows(deltas, margin)}
    for (scale, act), by_model in _rows(deltas).items():
        for model, d in by_model.items():
            c = d.comparison
            values = [c.mean, c.sd, c.ci_low, c.ci_high, c.p_value, c.p_adj, c.mde_80]
            values = ["" if math.isnan(v) else v for v in values]
            writer.writerow([scale, act, model, c.n, " ".join(d.datasets), *values, c.verdict, c.note])
        row = pooled[(scale, act)]
        if row.pooled is not None:
            p = row.pooled
            note = f"random effects over {p.k} models; Q={p.q:.4g}, I2={p.i2:.4g}, tau2={p.tau2:.4g}"
            values = [p.mean, "", p.ci_low, p.ci_high, p.p_value, row.p_adj, ""]
            writer.writerow([scale, act, "pooled", "", "", *values, row.verdict, note])
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
                # No interval (one seed): NaN draws the point without a bar rather than a zero-length one.
                low.append(c.mean - c.ci_low if math.isfinite(c.ci_low) else math.nan)
                high.append(c.ci_high - c.mean if math.isfinite(c.ci_high) else math.nan)
            ax.errorbar(xs, ys, yerr=[low, high], fmt="o", capsize=3, color=palette[i % len(palette)], label=model)
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.set_xticks(range(len(acts)), [display_name(a) for a in acts])
        ax.set_title(f"x{scale}")
    axes[0].set_ylabel("ΔPSNR vs the reference (dB), 95% CI over seeds; no bar: 1 seed")
    axes[-1].legend(fontsize="small")
    figure.savefig(path, dpi=120)


def report(summary: Summary, out: Path) -> tuple[str, list[Path]]:
    """Write the cross-architecture summary when the summary holds two or more models: its text and paths."""
    deltas = model_deltas(summary)
    # Across models, not across the settings of one model (those are compared by --factor, not pooled).
    if len({s.model for s in summary.sections if s.primary}) < 2:
        return "", []
    reference = summary.sections[0].reference if summary.sections else summary.factor.reference
    text = markdown(deltas, summary.psnr_key, summary.margin, reference)
    written = [out / "architectures.md", out / "architectures.csv", out / "delta_psnr_models.png"]
    out.mkdir(parents=True, exist_ok=True)
    written[0].write_text(text)
    written[1].write_text(csv_text(deltas, summary.margin))
    plot(deltas, written[2])
    return text, written

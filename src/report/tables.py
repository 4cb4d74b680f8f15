"""Render a Summary as the paper's Table 1: markdown, booktabs LaTeX and CSV.

The cell text is built once, through a small Style, so that markdown and LaTeX cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from src.report.collect import BICUBIC
from src.report.stats import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED
from src.report.summary import REFERENCE, Cell, Section, Summary, activation_order

CSV_COLUMNS = (
    "scale",
    "dataset",
    "activation",
    "n_seeds",
    "psnr_mean",
    "psnr_std",
    "ssim_mean",
    "ssim_std",
    "dpsnr_vs_relu",
    "dpsnr_ci_low",
    "dpsnr_ci_high",
    "p_value",
)
ALPHA = 0.05
MARK = "*"

_NAMES = {
    BICUBIC: "Bicubic",
    "relu": "ReLU",
    "lrelu": "LeakyReLU",
    "swish": "Swish",
    "mish": "Mish",
    "gelu": "GELU",
    "elu": "ELU",
    "prelu": "PReLU",
}
_METRIC_NAMES = {"y": "Y-channel", "rgb": "RGB"}


@dataclass(frozen=True)
class Style:
    pm: str
    percent: str
    bold: Callable[[str], str]
    mark: Callable[[str], str]
    text: Callable[[str], str]


# `<` and `>` print as other glyphs in LaTeX's default text font encoding.
_TEX = {"_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "±": r"$\pm$", "<": r"$<$", ">": r"$>$"}


def _tex_escape(text: str) -> str:
    return "".join(_TEX.get(c, c) for c in text)


MARKDOWN = Style(" ± ", "%", lambda s: f"**{s}**", lambda s: s, lambda s: s)
LATEX = Style(r"$\pm$", r"\%", lambda s: rf"\textbf{{{s}}}", lambda s: rf"$^{{{s}}}$", _tex_escape)


def display_name(label: str) -> str:
    """'lrelu(0.2)' -> 'LeakyReLU(0.2)'; unknown names stay as they are."""
    base, paren, rest = label.partition("(")
    return _NAMES.get(base, base) + paren + rest


def metric_name(metric: str) -> str:
    return _METRIC_NAMES.get(metric, metric)


# --- the values table ---------------------------------------------------------------------------


def _fmt(value: float, digits: int, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _seed_counts(section: Section) -> tuple[int, list[int]]:
    cells = [c for c in section.cells.values() if c.activation != BICUBIC]
    n_max = max((c.n_seeds for c in cells), default=0)
    return n_max, sorted({s for c in cells for s in c.seeds if s is not None})


def _exclusion_text(section: Section, scale: int, act: str) -> str:
    jobs = section.excluded.get((scale, act), [])
    launched = section.launched.get((scale, act), 0)
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return ", ".join(f"{status} ({n}/{launched} seeds)" for status, n in sorted(counts.items()))


def _values_cell(cell: Cell, section: Section, style: Style, best: tuple[str, str], n_max: int) -> str:
    psnr, psnr_std = cell.psnr_mean_std
    ssim, ssim_std = cell.ssim_mean_std
    psnr_text, ssim_text = _fmt(psnr, 2), _fmt(ssim, 4)
    # Bicubic is deterministic: any spread over "seeds" would be zero and say nothing.
    if cell.activation != BICUBIC and cell.n_seeds > 1:
        psnr_text += style.pm + _fmt(psnr_std, 2)
        ssim_text += style.pm + _fmt(ssim_std, 4)
    if _fmt(psnr, 2) == best[0]:
        psnr_text = style.bold(psnr_text)
    if _fmt(ssim, 4) == best[1]:
        ssim_text = style.bold(ssim_text)
    text = f"{psnr_text} / {ssim_text}"
    if math.isfinite(cell.pct_psnr):
        text += f" ({_pct(cell.pct_psnr, style)} / {_pct(cell.pct_ssim, style)})"
    if cell.p_value < ALPHA:
        text += style.mark(MARK)
    notes = []
    if cell.activation != BICUBIC and cell.n_seeds < n_max:
        notes.append(f"n={cell.n_seeds}")
    excluded = _exclusion_text(section, cell.scale, cell.activation)
    if excluded:
        notes.append(excluded)
    return text + (f" [{'; '.join(notes)}]" if notes else "")


def _pct(value: float, style: Style) -> str:
    return _fmt(value, 2, signed=True) + style.percent if math.isfinite(value) else "–"


def _best(cells: list[Cell]) -> tuple[str, str]:
    # Compared as displayed, so that two cells that read the same are both marked.
    psnr = [c.psnr_mean_std[0] for c in cells if c.n_seeds]
    ssim = [c.ssim_mean_std[0] for c in cells if c.n_seeds and math.isfinite(c.ssim_mean_std[0])]
    return (_fmt(max(psnr), 2) if psnr else "", _fmt(max(ssim), 4) if ssim else "")


def values_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """Header and rows of Table 1: scale x set, one column per activation."""
    n_max, _ = _seed_counts(section)
    header = ["Scale", "Set", *(display_name(a) for a in section.activations)]
    rows = []
    for scale in section.scales:
        if not section.datasets[scale]:
            # Nothing finished at this scale: one row still says what became of its runs.
            rows.append(
                [f"x{scale}", "(no finished run)"]
                + [_exclusion_text(section, scale, a) or "–" for a in section.activations]
            )
        for dataset in section.datasets[scale]:
            cells = [section.cells.get((scale, dataset, a)) for a in section.activations]
            best = _best([c for c in cells if c is not None])
            row = [f"x{scale}", style.text(dataset)]
            for act, cell in zip(section.activations, cells, strict=True):
                row.append(
                    _values_cell(cell, section, style, best, n_max)
                    if cell
                    else _exclusion_text(section, scale, act) or "–"
                )
            rows.append(row)
        if any(math.isfinite(c.pct_psnr) for c in section.cells.values() if c.scale == scale):
            rows.append(_mean_change_row(section, scale, style))
    return header, rows


def _compared(section: Section) -> list[str]:
    return [a for a in section.activations if a not in (REFERENCE, BICUBIC)]


def _mean_change_row(section: Section, scale: int, style: Style) -> list[str]:
    row = [f"x{scale}", "mean change vs ReLU"]
    for act in section.activations:
        cells = [section.cells.get((scale, d, act)) for d in section.datasets[scale]]
        pct = [(c.pct_psnr, c.pct_ssim) for c in cells if c is not None and math.isfinite(c.pct_psnr)]
        if act in (REFERENCE, BICUBIC) or not pct:
            row.append("")
            continue
        psnr = sum(p for p, _ in pct) / len(pct)
        ssim_values = [s for _, s in pct if math.isfinite(s)]
        ssim = sum(ssim_values) / len(ssim_values) if ssim_values else math.nan
        row.append(f"{_pct(psnr, style)} / {_pct(ssim, style)}")
    return row


# --- the paired-difference table ----------------------------------------------------------------


def delta_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the paired ΔPSNR vs ReLU table (empty rows when there is no ReLU)."""
    compared = _compared(section)
    header = ["Scale", "Set", *(display_name(a) for a in compared)]
    rows = []
    for scale in section.scales:
        for dataset in section.datasets[scale]:
            if (scale, dataset, REFERENCE) not in section.cells:
                continue
            row = [f"x{scale}", style.text(dataset)]
            for act in compared:
                cell = section.cells.get((scale, dataset, act))
                row.append(_delta_cell(cell, style) if cell else "–")
            rows.append(row)
    return header, rows


def _delta_cell(cell: Cell, style: Style) -> str:
    if cell.n_pairs == 0:
        return "no pairs"
    text = _fmt(cell.dpsnr, 3, signed=True)
    if math.isfinite(cell.ci_low):
        text += f" [{_fmt(cell.ci_low, 3, signed=True)}, {_fmt(cell.ci_high, 3, signed=True)}]"
    p_text = f"p={cell.p_value:.2g}" if math.isfinite(cell.p_value) else f"p=n/a ({cell.p_note})"
    if cell.p_value < ALPHA:
        p_text += style.mark(MARK)
    return f"{text} {p_text} (n={cell.n_pairs})"


# --- text around the tables ---------------------------------------------------------------------


def legend(section: Section, summary: Summary, metric: str) -> list[str]:
    n_max, seeds = _seed_counts(section)
    seed_text = f"{n_max} seed{'s' if n_max != 1 else ''} per cell" + (
        f" (seeds {', '.join(map(str, seeds))})" if seeds else ""
    )
    if n_max == 0:
        seed_text = "no trained run finished"
    elif any(c.n_seeds < n_max for c in section.cells.values() if c.activation != BICUBIC):
        seed_text = f"up to {seed_text}; cells with fewer say n="
    spread = "mean ± std over seeds (ddof=1; no ± where there is one seed)"
    return [
        f"Metric: {metric_name(metric)} PSNR (dB) / SSIM ({summary.psnr_key}, {summary.ssim_key}; "
        f"set value = mean over its images), {spread}. Seeds: {seed_text}.",
        "In parentheses: change vs ReLU in %, (act - ReLU) / ReLU x 100 of PSNR / SSIM, "
        "as the paper reports it. Bold: the best PSNR and the best SSIM of each row (as displayed).",
        f"{MARK} p < {ALPHA}: two-sided Wilcoxon signed-rank test (scipy) of the per-image PSNR differences "
        "vs ReLU, paired on seed and image and pooled over seeds; not corrected for multiple comparisons.",
        "Diverged, unfinished and unreadable runs are never averaged in: [diverged (k/n seeds)] in a cell "
        "counts them and table1.md lists their directories.",
    ]


def exclusion_notes(summary: Summary) -> list[str]:
    notes = []
    for section in summary.sections:
        for (scale, act), jobs in sorted(
            section.excluded.items(), key=lambda kv: (kv[0][0], activation_order(kv[0][1]))
        ):
            for job in jobs:
                notes.append(f"{section.model} x{scale} {display_name(act)}: {job.status}: {job.describe()}")
    notes += [f"{job.status}, not placed in any table: {job.describe()}" for job in summary.unplaced]
    notes += [
        f"ignored duplicate of an earlier run with the same settings: {job.describe()}" for job in summary.duplicates
    ]
    return notes


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(summary: Summary, metric: str) -> str:
    """The whole Table 1 report as markdown."""
    parts = ["# Table 1: activation functions in EDSR", ""]
    for section in summary.sections:
        parts += [f"## Model `{section.model}`", ""]
        parts += [*legend(section, summary, metric), ""]
        parts += [markdown_table(*values_grid(section, MARKDOWN)), ""]
        header, rows = delta_grid(section, MARKDOWN)
        if rows and len(header) > 2:
            parts += [
                f"### Paired ΔPSNR vs ReLU (dB), `{section.model}`",
                "",
                "Mean of per-image differences (act - ReLU) pooled over seeds, [95% bootstrap percentile "
                f"CI, {BOOTSTRAP_RESAMPLES:,} resamples, RNG seed {BOOTSTRAP_SEED}], Wilcoxon p, "
                "n = image pairs.",
                "",
                markdown_table(header, rows),
                "",
            ]
        elif REFERENCE not in section.activations:
            parts += ["No ReLU runs in this section: no changes vs ReLU or paired tests.", ""]
    notes = exclusion_notes(summary)
    if notes:
        parts += ["## Not averaged in", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(parts)


def latex(summary: Summary, metric: str) -> str:
    """Booktabs tables of the same content (needs \\usepackage{booktabs})."""
    out = []
    for section in summary.sections:
        for (header, rows), caption in (
            (values_grid(section, LATEX), " ".join(legend(section, summary, metric))),
            (
                delta_grid(section, LATEX),
                "Paired PSNR difference vs ReLU (dB) [95% bootstrap CI], Wilcoxon p.",
            ),
        ):
            if not rows or len(header) <= 2:
                continue
            out += [
                r"\begin{table}[t]",
                r"\centering",
                r"\scriptsize",
                rf"\caption{{{_tex_escape(f'{section.model}: {caption}')}}}",
                r"\begin{tabular}{ll" + "c" * (len(header) - 2) + "}",
                r"\toprule",
                " & ".join(_tex_escape(h) for h in header) + r" \\",
                r"\midrule",
            ]
            previous = None
            for row in rows:
                if previous is not None and row[0] != previous:
                    out.append(r"\midrule")
                previous = row[0]
                out.append(" & ".join(row) + r" \\")
            out += [r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]
    return "\n".join(out)


def csv_text(summary: Summary) -> str:
    """One row per (scale, dataset, activation); a leading `model` column only when presets are mixed."""
    with_model = len(summary.sections) > 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow((["model"] if with_model else []) + list(CSV_COLUMNS))
    for section in summary.sections:
        for scale in section.scales:
            for dataset in section.datasets[scale]:
                for act in section.activations:
                    if (scale, act) not in section.launched:
                        continue
                    row = _csv_row(scale, dataset, act, section.cells.get((scale, dataset, act)))
                    writer.writerow(([section.model] if with_model else []) + row)
    return buffer.getvalue()


def _csv_row(scale: int, dataset: str, act: str, cell: Cell | None) -> list[str]:
    if cell is None:
        return [str(scale), dataset, act, "0", *[""] * (len(CSV_COLUMNS) - 4)]
    psnr, psnr_std = cell.psnr_mean_std
    ssim, ssim_std = cell.ssim_mean_std
    values = [psnr, psnr_std, ssim, ssim_std, cell.dpsnr, cell.ci_low, cell.ci_high, cell.p_value]
    return [str(scale), dataset, act, str(cell.n_seeds), *(_num(v) for v in values)]


def _num(value: float) -> str:
    return format(value, ".10g") if math.isfinite(value) else ""

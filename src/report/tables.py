"""Render a Summary: the primary endpoint, Table 1 in dB vs ReLU, absolute values, tests; markdown, LaTeX, CSV.

The cell text is built once, through a small Style, so that markdown and LaTeX cannot drift apart.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from src.report.decisions import ALPHA, BETTER, WORSE
from src.report.factor import display_name
from src.report.stats import Comparison
from src.report.summary import Cell, Primary, Section, Summary, family_size

CSV_COLUMNS = (
    "scale",
    "dataset",
    "activation",
    "n_seeds",
    "psnr_mean",
    "psnr_std",
    "ssim_mean",
    "ssim_std",
    "dpsnr_vs_reference",
    "dpsnr_ci_low",
    "dpsnr_ci_high",
    "p_value",
    "n_pairs",
    "dpsnr_sd",
    "p_adj",
    "mde_80",
    "dssim_vs_reference",
    "dssim_ci_low",
    "dssim_ci_high",
    "p_equivalence",
    "p_equivalence_adj",
    "margin",
    "verdict",
    "note",
)
MARK = "*"
_METRIC_NAMES = {"y": "Y-channel", "rgb": "RGB"}


@dataclass(frozen=True)
class Style:
    pm: str
    bold: Callable[[str], str]
    mark: Callable[[str], str]
    text: Callable[[str], str]


# `<` and `>` print as other glyphs in LaTeX's default text font encoding.
_TEX = {
    "α": r"$\alpha$",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "±": r"$\pm$",
    "<": r"$<$",
    ">": r"$>$",
    "Δ": r"$\Delta$",
}


def _tex_escape(text: str) -> str:
    return "".join(_TEX.get(c, c) for c in text)


MARKDOWN = Style(" ± ", lambda s: f"**{s}**", lambda s: s, lambda s: s)
LATEX = Style(r"$\pm$", lambda s: rf"\textbf{{{s}}}", lambda s: rf"$^{{{s}}}$", _tex_escape)


def metric_name(metric: str) -> str:
    return _METRIC_NAMES.get(metric, metric)


def _fmt(value: float, digits: int, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _p(value: float) -> str:
    return f"{value:.2g}" if math.isfinite(value) else "–"


def _compared(section: Section) -> list[str]:
    return [a for a in section.levels if section.is_compared(a)]


def _seed_counts(section: Section) -> tuple[int, list[int]]:
    cells = [c for c in section.cells.values() if not c.is_bicubic]
    n_max = max((c.n_seeds for c in cells), default=0)
    return n_max, sorted({s for c in cells for s in c.seeds if s is not None})


def _exclusion_text(section: Section, scale: int, act: str) -> str:
    jobs = section.excluded.get((scale, act), [])
    launched = section.launched.get((scale, act), 0)
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
    return ", ".join(f"{status} ({n}/{launched} seeds)" for status, n in sorted(counts.items()))


def _notes(cell: Cell, section: Section, n_max: int) -> str:
    notes = []
    if not cell.is_bicubic and cell.n_seeds < n_max:
        notes.append(f"n={cell.n_seeds}")
    excluded = _exclusion_text(section, cell.scale, cell.level)
    if excluded:
        notes.append(excluded)
    return f" [{'; '.join(notes)}]" if notes else ""


def _absolute(cell: Cell, style: Style) -> str:
    """PSNR ± SD / SSIM ± SD over seeds; no ± for one seed or for bicubic (deterministic)."""
    psnr, psnr_std = cell.psnr_mean_std
    ssim, ssim_std = cell.ssim_mean_std
    psnr_text, ssim_text = _fmt(psnr, 2), _fmt(ssim, 4)
    if not cell.is_bicubic and cell.n_seeds > 1:
        psnr_text += style.pm + _fmt(psnr_std, 2)
        ssim_text += style.pm + _fmt(ssim_std, 4)
    return f"{psnr_text} / {ssim_text}"


def interval_text(comparison: Comparison, digits: int) -> str:
    """'+0.010 [-0.029, +0.049]': the mean difference and its 95% interval; '(no spread)' where every seed gave
    the same difference (an interval [m, m] would claim a certainty that a few equal values do not give)."""
    text = _fmt(comparison.mean, digits, signed=True)
    if math.isfinite(comparison.ci_low):
        text += f" [{_fmt(comparison.ci_low, digits, signed=True)}, {_fmt(comparison.ci_high, digits, signed=True)}]"
    elif comparison.n >= 2 and comparison.sd == 0:
        text += " (no spread)"
    return text


def _significant(comparison: Comparison | None) -> bool:
    """Starred exactly when the verdict is a difference: the same Holm-adjusted test decides both."""
    return comparison is not None and comparison.verdict in (BETTER, WORSE)


def _verdict(comparison: Comparison) -> str:
    return f" {comparison.verdict}" if comparison.verdict else ""


def _delta(cell: Cell, style: Style) -> str:
    """ΔPSNR [CI] / ΔSSIM [CI] vs ReLU, starred on the adjusted p of ΔPSNR; why not, where not."""
    psnr = cell.psnr_vs_reference
    if psnr is None or psnr.n == 0:
        return style.text(f"not compared: {cell.note}") if cell.note else "–"
    text = interval_text(psnr, 3) + (style.mark(MARK) if _significant(psnr) else "") + _verdict(psnr)
    if cell.ssim_vs_reference is not None and cell.ssim_vs_reference.n:
        text += " / " + interval_text(cell.ssim_vs_reference, 4)
    if psnr.n < 2:
        text += style.text(f" ({psnr.note})")
    return text


def _best(cells: list[Cell]) -> tuple[str, str]:
    # Compared as displayed, so that two cells that read the same are both marked.
    psnr = [c.psnr_mean_std[0] for c in cells if c.n_seeds]
    ssim = [c.ssim_mean_std[0] for c in cells if c.n_seeds and math.isfinite(c.ssim_mean_std[0])]
    return (_fmt(max(psnr), 2) if psnr else "", _fmt(max(ssim), 4) if ssim else "")


def _rows(section: Section, style: Style, render: Callable[[Cell | None, str, int], str]) -> list[list[str]]:
    """One row per (scale, set), a cell per activation; a scale with no finished run still gets a row."""
    rows = []
    for scale in section.scales:
        if not section.datasets[scale]:
            rows.append(
                [f"x{scale}", "(no finished run)"] + [_exclusion_text(section, scale, a) or "–" for a in section.levels]
            )
        for dataset in section.datasets[scale]:
            row = [f"x{scale}", style.text(dataset)]
            row += [render(section.cells.get((scale, dataset, a)), a, scale) for a in section.levels]
            rows.append(row)
    return rows


def _header(section: Section, first: str = "Set") -> list[str]:
    return ["Scale", first, *(display_name(a) for a in section.levels)]


def delta_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """Table 1 in dB: Bicubic and ReLU as absolute values, every other activation as its difference vs ReLU."""
    n_max, _ = _seed_counts(section)

    def render(cell: Cell | None, act: str, scale: int) -> str:
        if cell is None:
            return _exclusion_text(section, scale, act) or "–"
        text = _delta(cell, style) if section.is_compared(act) else _absolute(cell, style)
        return text + _notes(cell, section, n_max)

    return _header(section), _rows(section, style, render)


def values_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """PSNR / SSIM of every activation, mean ± SD over seeds; bold: the best of each row as displayed."""
    n_max, _ = _seed_counts(section)

    def render(cell: Cell | None, act: str, scale: int) -> str:
        if cell is None:
            return _exclusion_text(section, scale, act) or "–"
        cells = [section.cells.get((scale, cell.dataset, a)) for a in section.levels]
        best = _best([c for c in cells if c is not None])
        psnr, ssim = _absolute(cell, style).split(" / ")
        psnr = style.bold(psnr) if _fmt(cell.psnr_mean_std[0], 2) == best[0] else psnr
        ssim = style.bold(ssim) if _fmt(cell.ssim_mean_std[0], 4) == best[1] else ssim
        return f"{psnr} / {ssim}" + _notes(cell, section, n_max)

    return _header(section), _rows(section, style, render)


def tests_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """Per comparison: n pairs, SD of the per-seed ΔPSNR, raw and adjusted p, TOST p, MDE at 80% power."""
    compared = _compared(section)
    rows = []
    for scale in section.scales:
        for dataset in section.datasets[scale]:
            row = [f"x{scale}", style.text(dataset)]
            for act in compared:
                cell = section.cells.get((scale, dataset, act))
                row.append(_test_text(cell.psnr_vs_reference) if cell and cell.psnr_vs_reference else "–")
            if any(c != "–" for c in row[2:]):
                rows.append(row)
    return ["Scale", "Set", *(display_name(a) for a in compared)], rows


def _test_text(comparison: Comparison) -> str:
    if comparison.n < 2 or not math.isfinite(comparison.p_value):
        return f"n={comparison.n}: {comparison.note}"
    return (
        f"n={comparison.n}, SD={_fmt(comparison.sd, 3)}, p={_p(comparison.p_value)}, "
        f"p_adj={_p(comparison.p_adj)}, p_eq_adj={_p(comparison.p_equivalence_adj)}, "
        f"MDE={_fmt(comparison.mde_80, 3)}: {comparison.verdict}"
    )


def _primary_text(primary: Primary, sets: tuple[str, ...], style: Style) -> str:
    comparison = primary.comparison
    text = interval_text(comparison, 3) + (style.mark(MARK) if _significant(comparison) else "")
    text += _verdict(comparison)
    if comparison.n < 2 or not math.isfinite(comparison.p_value):
        text += style.text(f" (n={comparison.n}: {comparison.note})")
    else:
        text += style.text(f" (p_adj={_p(comparison.p_adj)}, n={comparison.n}, MDE={_fmt(comparison.mde_80, 3)})")
    crossed = primary.crossed
    if crossed is not None and math.isfinite(crossed.low):
        text += f"; images sampled: [{_fmt(crossed.low, 3, signed=True)}, {_fmt(crossed.high, 3, signed=True)}]"
    elif primary.crossed_note and comparison.n >= 2:
        text += style.text(f"; images sampled: - ({primary.crossed_note})")
    if primary.datasets != sets:
        text += f" (sets: {', '.join(primary.datasets)})"
    return text


def primary_grid(section: Section, style: Style) -> tuple[list[str], list[list[str]]]:
    """The primary endpoint: per scale and level, ΔPSNR vs the reference averaged over the test sets."""
    compared = [a for a in _compared(section) if any(k[1] == a for k in [*section.primary, *section.not_compared])]
    rows = []
    for scale in section.scales:
        primaries = [section.primary.get((scale, a)) for a in compared]
        if not any(primaries):
            continue
        sets = next(p.datasets for p in primaries if p is not None)
        row = [f"x{scale}", style.text(", ".join(sets))]
        for act, primary in zip(compared, primaries, strict=True):
            if primary is None:
                row.append(style.text(section.not_compared.get((scale, act), "–")))
            else:
                row.append(_primary_text(primary, sets, style))
        rows.append(row)
    return ["Scale", "Sets averaged", *(display_name(a) for a in compared)], rows


# --- text around the tables ---------------------------------------------------------------------


def _seed_text(section: Section) -> str:
    n_max, seeds = _seed_counts(section)
    if n_max == 0:
        return "no trained run finished"
    text = f"{n_max} seed{'s' if n_max != 1 else ''} per cell" + (
        f" (seeds {', '.join(map(str, seeds))})" if seeds else ""
    )
    if any(c.n_seeds < n_max for c in section.cells.values() if not c.is_bicubic):
        text = f"up to {text}; cells with fewer say n="
    return text


def _family_size(section: Section) -> tuple[int, int]:
    primary = family_size([p.comparison for p in section.primary.values()])
    per_set = family_size([c.psnr_vs_reference for c in section.cells.values() if c.psnr_vs_reference is not None])
    return primary, per_set


def _holm_text(size: int, what: str) -> str:
    if size == 0:
        return f"none of the {what} of this section has a p-value, so none can be starred"
    return f"Holm across the {size} {what} of this section with a p-value (family-wise error rate {ALPHA:.0%})"


def verdict_legend(summary: Summary, size: int) -> str:
    """How a verdict is reached, with the margin: printed in every legend."""
    return (
        f"Verdict (margin ±{summary.margin:g} dB, declared before looking): *better*/*worse* when the Holm-adjusted "
        f"difference test is below {ALPHA} (the star); else *equivalent* when two one-sided t-tests (TOST) show the "
        f"difference inside ±{summary.margin:g} dB, Holm-adjusted over the same {size} comparisons at {ALPHA}; else "
        f"*undecided*. MDE: the smallest true difference these seeds star with 80% power at the observed spread, at "
        f"α/m = {ALPHA}/{max(size, 1)}, the level at which a p-value is starred whatever the others' p-values."
    )


def primary_legend(section: Section, summary: Summary) -> list[str]:
    primary, _ = _family_size(section)
    reference = display_name(section.reference)
    return [
        f"Primary endpoint (pre-specified, one per scale and level of {summary.factor.key}): for each seed, the PSNR "
        f"difference level - {reference} of the same seed, averaged over the sets listed; then the mean over seeds "
        "with its 95% paired t-interval [low, high] (t over seeds, the training run being the unit of replication: "
        "an interval about these test images).",
        f"{MARK} Holm-adjusted p < {ALPHA} (two-sided one-sample t-test of the per-seed averages; "
        f"{_holm_text(primary, 'primary endpoints')}). " + verdict_legend(summary, primary),
        "*Images sampled*: a secondary 95% interval that also treats the test images as a sample of images: "
        "crossed random effects seed x image on the per-image paired differences (method of moments, Satterthwaite "
        "df), assuming seed, image and interaction effects independent with constant variances; it is wider when "
        "images disagree about the difference. Not adjusted, not used for the verdict.",
    ]


def legend(section: Section, summary: Summary, metric: str) -> list[str]:
    _, per_set = _family_size(section)
    reference = display_name(section.reference)
    return [
        f"Metric: {metric_name(metric)} PSNR (dB) / SSIM ({summary.psnr_key}, {summary.ssim_key}); a set value "
        f"is the mean over the set's images. Seeds: {_seed_text(section)}.",
        f"Bicubic and {reference}: PSNR / SSIM, mean ± SD over seeds of the set value (no ± for one seed; bicubic "
        f"is deterministic). Other levels: ΔPSNR / ΔSSIM vs {reference}, the mean over seeds of (level - "
        f"{reference} of the same seed) of the set value, with its 95% paired t-interval over seeds [low, high]. "
        "Per-image values are not treated as replicates. No interval where fewer than 2 seeds pair with the "
        "reference; '(no spread)' where every seed gave the same difference.",
        f"{MARK} Holm-adjusted p < {ALPHA}: two-sided paired t-test over seeds of ΔPSNR; "
        f"{_holm_text(per_set, 'per-set ΔPSNR comparisons')}; ΔSSIM is not tested. "
        + verdict_legend(summary, per_set)
        + " Diverged, unfinished, malformed and unreadable runs are never averaged in: [diverged (k/n seeds)] "
        "counts them and the notes below list their directories.",
    ]


def exclusion_notes(summary: Summary) -> list[str]:
    notes = []
    for section in summary.sections:
        for (scale, act), reason in sorted(section.not_compared.items(), key=lambda kv: kv[0]):
            notes.append(
                f"{section.title} x{scale} {display_name(act)}: not compared with "
                f"{display_name(section.reference)}: {reason}"
            )
        order = summary.factor.order
        for (scale, act), jobs in sorted(section.excluded.items(), key=lambda kv: (kv[0][0], order(kv[0][1], ""))):
            for job in jobs:
                notes.append(f"{section.title} x{scale} {display_name(act)}: {job.status}: {job.describe()}")
    notes += [f"{job.status}, not placed in any table: {job.describe()}" for job in summary.unplaced]
    notes += [
        f"ignored duplicate of an earlier run with the same identity: {job.describe()}" for job in summary.duplicates
    ]
    return notes


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def title(summary: Summary) -> str:
    what = "activation functions in EDSR" if summary.factor.is_activation else f"{summary.factor.key}"
    return f"# Table 1: {what}"


def _section_markdown(section: Section, summary: Summary, metric: str) -> list[str]:
    reference = display_name(section.reference)
    parts = [f"## Model `{section.model}`" + (f": {section.label}" if section.label else ""), ""]
    header, rows = primary_grid(section, MARKDOWN)
    if rows:
        parts += [f"### Primary endpoint: ΔPSNR vs {reference} over the test sets (dB)", ""]
        parts += [*primary_legend(section, summary), "", markdown_table(header, rows), ""]
    parts += [f"### Table 1: ΔPSNR / ΔSSIM vs {reference}", "", *legend(section, summary, metric), ""]
    parts += [markdown_table(*delta_grid(section, MARKDOWN)), ""]
    if section.reference not in section.levels:
        parts += [f"No {reference} runs in this section: no differences vs {reference} or tests.", ""]
    if _compared(section):
        parts += ["### PSNR / SSIM of every level", ""]
        parts += ["Mean ± SD over seeds of the set value; bold: the best PSNR and the best SSIM of each row.", ""]
        parts += [markdown_table(*values_grid(section, MARKDOWN)), ""]
    header, rows = tests_grid(section, MARKDOWN)
    if rows:
        parts += [
            f"### Tests of ΔPSNR vs {reference}",
            "",
            f"n: seeds paired with {reference}; SD: seed-to-seed SD of the per-seed ΔPSNR (dB); p: two-sided "
            "paired t-test; p_adj: Holm-adjusted over the section; p_eq_adj: the TOST p against the margin, "
            "Holm-adjusted over the same family; then the verdict. "
            + verdict_legend(summary, _family_size(section)[1]),
            "",
            markdown_table(header, rows),
            "",
        ]
    return parts


def markdown(summary: Summary, metric: str) -> str:
    """The whole report as markdown: per section, the primary endpoint first, then Table 1 in dB, then details."""
    parts = [title(summary), ""]
    for section in summary.sections:
        parts += _section_markdown(section, summary, metric)
    notes = exclusion_notes(summary)
    if notes:
        parts += ["## Not averaged in or not compared", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(parts)


def latex(summary: Summary, metric: str) -> str:
    """Booktabs tables of the same content (needs \\usepackage{booktabs})."""
    out = []
    for section in summary.sections:
        for (header, rows), caption in (
            (primary_grid(section, LATEX), " ".join(primary_legend(section, summary))),
            (delta_grid(section, LATEX), " ".join(legend(section, summary, metric))),
        ):
            if rows and len(header) > 2:
                out += _latex_table(header, rows, f"{section.title}: {caption}")
    return "\n".join(out)


def _latex_table(header: list[str], rows: list[list[str]], caption: str) -> list[str]:
    out = [
        r"\begin{table}[t]",
        r"\centering",
        r"\scriptsize",
        rf"\caption{{{_tex_escape(caption)}}}",
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
    return [*out, r"\bottomrule", r"\end{tabular}", r"\end{table}", ""]


def csv_text(summary: Summary) -> str:
    """One row per (scale, dataset, level); leading `model` and `setting` columns only when there are several."""
    with_model = len(summary.sections) > 1
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    columns = [summary.factor.key if c == "activation" else c for c in CSV_COLUMNS]
    writer.writerow((["model", "setting"] if with_model else []) + columns)
    for section in summary.sections:
        for scale in section.scales:
            for dataset in section.datasets[scale]:
                for act in section.levels:
                    if (scale, act) not in section.launched:
                        continue
                    row = _csv_row(scale, dataset, act, section.cells.get((scale, dataset, act)), summary.margin)
                    writer.writerow(([section.model, section.label] if with_model else []) + row)
    return buffer.getvalue()


def _csv_row(scale: int, dataset: str, act: str, cell: Cell | None, margin: float) -> list[str]:
    if cell is None:
        return [str(scale), dataset, act, "0", *[""] * (len(CSV_COLUMNS) - 4)]
    psnr, psnr_std = cell.psnr_mean_std
    ssim, ssim_std = cell.ssim_mean_std
    d, s = cell.psnr_vs_reference, cell.ssim_vs_reference
    nan = math.nan
    values = [psnr, psnr_std, ssim, ssim_std, *((d.mean, d.ci_low, d.ci_high, d.p_value) if d else (nan,) * 4)]
    extra = [
        str(d.n) if d else "",
        *(_num(v) for v in ((d.sd, d.p_adj, d.mde_80) if d else (nan,) * 3)),
        *(_num(v) for v in ((s.mean, s.ci_low, s.ci_high) if s else (nan,) * 3)),
        *(_num(v) for v in ((d.p_equivalence, d.p_equivalence_adj, margin) if d else (nan,) * 3)),
        d.verdict if d else "",
        cell.note or (d.note if d else ""),
    ]
    return [str(scale), dataset, act, str(cell.n_seeds), *(_num(v) for v in values), *extra]


def _num(value: float) -> str:
    return format(value, ".10g") if math.isfinite(value) else ""

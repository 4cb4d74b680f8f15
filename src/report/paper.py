"""The paper's own Table 1, kept as data, and `--paper`: our numbers beside it, in the paper's convention.

Values are the paper's Table 1 (docs/protocol.md names the paper: PSNR / SSIM, one run per cell).
The paper used the full EDSR (32 blocks, 256 features); its numbers are consistent with Y-channel PSNR
and RGB SSIM, which is why the comparison reads our `psnr_y` and `ssim_rgb`. The paper reports changes vs
ReLU in % and an "Average" row per scale (the mean over its five sets); this view reproduces both.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from src.models.activations import PAPER_ACTIVATIONS
from src.report.factor import DEFAULT_REFERENCE as REFERENCE
from src.report.factor import display_name
from src.report.stats import relative_change_pct
from src.report.summary import Summary, set_order
from src.report.tables import markdown_table

PAPER = "Performance Analysis of Various Activation Functions in Super Resolution Model"
PAPER_MODEL = "edsr"
PAPER_PSNR_KEY = "psnr_y"
PAPER_SSIM_KEY = "ssim_rgb"
AVERAGE = "Average"

# (scale, set) -> PSNR / SSIM per activation, in the order of PAPER_ACTIVATIONS.
_ROWS: dict[tuple[int, str], tuple[tuple[float, float], ...]] = {
    (2, "DIV2K"): ((36.56, 0.9407), (33.71, 0.9140), (36.47, 0.9401), (36.48, 0.9401)),
    (2, "Set5"): ((38.19, 0.9445), (35.32, 0.9237), (38.19, 0.9447), (38.19, 0.9447)),
    (2, "Set14"): ((33.95, 0.8969), (31.60, 0.8723), (33.88, 0.8966), (33.83, 0.8965)),
    (2, "B100"): ((32.35, 0.8928), (30.65, 0.8683), (32.31, 0.8922), (32.33, 0.8922)),
    (2, "Urban100"): ((32.97, 0.9268), (28.02, 0.8583), (32.77, 0.9252), (32.79, 0.9251)),
    (4, "DIV2K"): ((30.73, 0.8269), (30.74, 0.8271), (30.74, 0.8270), (30.69, 0.8258)),
    (4, "Set5"): ((32.48, 0.8686), (32.55, 0.8692), (32.51, 0.8690), (32.48, 0.8679)),
    (4, "Set14"): ((28.82, 0.7511), (28.82, 0.7514), (28.83, 0.7513), (28.79, 0.7501)),
    (4, "B100"): ((27.72, 0.7189), (27.73, 0.7191), (27.73, 0.7190), (27.70, 0.7176)),
    (4, "Urban100"): ((26.65, 0.7836), (26.67, 0.7844), (26.67, 0.7841), (26.55, 0.7809)),
}
# The paper's printed "Average" rows (mean over its five sets), kept to check that the mean above reproduces them.
PRINTED_AVERAGE: dict[int, tuple[tuple[float, float], ...]] = {
    2: ((34.80, 0.9203), (31.86, 0.8873), (34.73, 0.9198), (34.72, 0.9197)),
    4: ((29.28, 0.7898), (29.30, 0.7902), (29.30, 0.7900), (29.24, 0.7885)),
}

TABLE1: dict[tuple[int, str, str], tuple[float, float]] = {
    (scale, dataset, act): value
    for (scale, dataset), values in _ROWS.items()
    for act, value in zip(PAPER_ACTIVATIONS, values, strict=True)
}

COMPARISON_COLUMNS = (
    "model",
    "scale",
    "dataset",
    "activation",
    "n_seeds",
    "psnr_ours",
    "psnr_paper",
    "psnr_diff",
    "ssim_ours",
    "ssim_paper",
    "ssim_diff",
    "psnr_pct_vs_relu_ours",
    "psnr_pct_vs_relu_paper",
    "ssim_pct_vs_relu_ours",
    "ssim_pct_vs_relu_paper",
)


def comparison_rows(summary: Summary) -> list[dict[str, Any]]:
    """Ours beside the paper for every (scale, set) we evaluated, then an Average row per scale over the sets
    both have; `summary` read with the paper's keys. Averages and % changes use our means over seeds."""
    rows = []
    for section in summary.sections:
        for scale in section.scales:
            datasets = [d for d in section.datasets[scale] if (scale, d, REFERENCE) in TABLE1]
            ours: dict[tuple[str, str], tuple[float, float, int]] = {}
            for dataset in datasets:
                for act in PAPER_ACTIVATIONS:
                    cell = section.cells.get((scale, dataset, act))
                    ours[(dataset, act)] = (
                        (cell.psnr_mean_std[0], cell.ssim_mean_std[0], cell.n_seeds) if cell else (math.nan,) * 2 + (0,)
                    )
            if datasets:
                for act in PAPER_ACTIVATIONS:
                    values = [ours[(d, act)] for d in datasets]
                    ours[(AVERAGE, act)] = (
                        _mean(v[0] for v in values),
                        _mean(v[1] for v in values),
                        min(v[2] for v in values),
                    )
            paper = {(d, a): TABLE1[(scale, d, a)] for d in datasets for a in PAPER_ACTIVATIONS}
            for act in PAPER_ACTIVATIONS if datasets else ():
                paper[(AVERAGE, act)] = tuple(_mean(paper[(d, act)][i] for d in datasets) for i in (0, 1))
            for dataset in [*datasets, AVERAGE] if datasets else []:
                for act in PAPER_ACTIVATIONS:
                    psnr, ssim, n = ours[(dataset, act)]
                    paper_psnr, paper_ssim = paper[(dataset, act)]
                    relu, paper_relu = ours[(dataset, REFERENCE)], paper[(dataset, REFERENCE)]
                    rows.append(
                        {
                            "model": section.model,
                            "scale": scale,
                            "dataset": dataset,
                            "activation": act,
                            "n_seeds": n,
                            "psnr_ours": psnr,
                            "psnr_paper": paper_psnr,
                            "psnr_diff": psnr - paper_psnr,
                            "ssim_ours": ssim,
                            "ssim_paper": paper_ssim,
                            "ssim_diff": ssim - paper_ssim,
                            "psnr_pct_vs_relu_ours": _pct(act, psnr, relu[0]),
                            "psnr_pct_vs_relu_paper": _pct(act, paper_psnr, paper_relu[0]),
                            "ssim_pct_vs_relu_ours": _pct(act, ssim, relu[1]),
                            "ssim_pct_vs_relu_paper": _pct(act, paper_ssim, paper_relu[1]),
                        }
                    )
    return rows


def _mean(values: Any) -> float:
    values = list(values)
    return sum(values) / len(values) if values else math.nan


def _pct(act: str, value: float, relu: float) -> float:
    return math.nan if act == REFERENCE else relative_change_pct(value, relu)


def comparison_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, COMPARISON_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, float):
        return format(value, ".10g") if math.isfinite(value) else ""
    return value


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "## The paper's Table 1 beside ours",
        "",
        f'Paper: "{PAPER}", one run per cell, full EDSR (`{PAPER_MODEL}`). Its numbers match Y-channel PSNR '
        f"and RGB SSIM, so this comparison reads our `{PAPER_PSNR_KEY}` and `{PAPER_SSIM_KEY}` whatever "
        "`--metric` says. Cells: ours (mean over seeds) / paper / ours - paper, PSNR (dB) then SSIM; then, as "
        "the paper reports it, the change vs ReLU in % ((act - ReLU) / ReLU x 100 of PSNR / SSIM), ours then "
        "the paper's. Average: the mean over the sets of the scale, as the paper's Average row (its % is the "
        "change of the averages). These % changes carry no test: the dB table above has the CIs.",
        "",
    ]
    if not rows:
        return "\n".join([*lines, "None of our (scale, set) pairs appear in the paper's table.", ""])
    by_model: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    for model, model_rows in by_model.items():
        note = "" if model == PAPER_MODEL else " (the paper used the full EDSR; expect a gap)"
        lines += [f"### Model `{model}`{note}", ""]
        header = ["Scale", "Set", *(display_name(a) for a in PAPER_ACTIVATIONS)]
        table: dict[tuple[int, str], dict[str, str]] = {}
        for row in model_rows:
            table.setdefault((row["scale"], row["dataset"]), {})[row["activation"]] = _comparison_cell(row)
        body = [
            [f"x{scale}", dataset, *(cells.get(a, "–") for a in PAPER_ACTIVATIONS)]
            for (scale, dataset), cells in sorted(table.items(), key=lambda kv: (kv[0][0], _row_order(kv[0][1])))
        ]
        lines += [markdown_table(header, body), ""]
    return "\n".join(lines)


def _row_order(dataset: str) -> tuple[int, tuple[int, str]]:
    return (1, (0, "")) if dataset == AVERAGE else (0, set_order(dataset))


def _comparison_cell(row: dict[str, Any]) -> str:
    def part(ours: float, paper: float, digits: int) -> str:
        if not math.isfinite(ours):
            return f"– / {paper:.{digits}f}"
        return f"{ours:.{digits}f} / {paper:.{digits}f} / {ours - paper:+.{digits}f}"

    def pct(value: float) -> str:
        return f"{value:+.2f}%" if math.isfinite(value) else "–"

    text = f"{part(row['psnr_ours'], row['psnr_paper'], 2)}; {part(row['ssim_ours'], row['ssim_paper'], 4)}"
    if row["activation"] != REFERENCE:
        text += (
            f"; % vs ReLU: {pct(row['psnr_pct_vs_relu_ours'])} / {pct(row['ssim_pct_vs_relu_ours'])} (ours), "
            f"{pct(row['psnr_pct_vs_relu_paper'])} / {pct(row['ssim_pct_vs_relu_paper'])} (paper)"
        )
    return text

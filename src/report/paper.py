"""The paper's own Table 1, kept as data, and `--paper`: our numbers beside it.

Values are the paper's Table 1 (docs/protocol.md names the paper: PSNR / SSIM, one run per cell).
The paper used the full EDSR (32 blocks, 256 features); its numbers are consistent with Y-channel PSNR
and RGB SSIM, which is why the comparison reads our `psnr_y` and `ssim_rgb`.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from src.report.summary import Summary
from src.report.tables import display_name, markdown_table

PAPER = "Performance Analysis of Various Activation Functions in Super Resolution Model"
PAPER_MODEL = "edsr"
PAPER_PSNR_KEY = "psnr_y"
PAPER_SSIM_KEY = "ssim_rgb"

ACTIVATIONS = ("relu", "lrelu", "swish", "mish")

# (scale, set) -> PSNR / SSIM per activation, in the order of ACTIVATIONS.
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

TABLE1: dict[tuple[int, str, str], tuple[float, float]] = {
    (scale, dataset, act): value
    for (scale, dataset), values in _ROWS.items()
    for act, value in zip(ACTIVATIONS, values, strict=True)
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
)


def comparison_rows(summary: Summary) -> list[dict[str, Any]]:
    """Ours beside the paper for every (scale, set) we evaluated; `summary` read with the paper's keys."""
    rows = []
    for section in summary.sections:
        for scale in section.scales:
            for dataset in section.datasets[scale]:
                for act in ACTIVATIONS:
                    paper = TABLE1.get((scale, dataset, act))
                    if paper is None:
                        continue
                    cell = section.cells.get((scale, dataset, act))
                    psnr = cell.psnr_mean_std[0] if cell else math.nan
                    ssim = cell.ssim_mean_std[0] if cell else math.nan
                    rows.append(
                        {
                            "model": section.model,
                            "scale": scale,
                            "dataset": dataset,
                            "activation": act,
                            "n_seeds": cell.n_seeds if cell else 0,
                            "psnr_ours": psnr,
                            "psnr_paper": paper[0],
                            "psnr_diff": psnr - paper[0],
                            "ssim_ours": ssim,
                            "ssim_paper": paper[1],
                            "ssim_diff": ssim - paper[1],
                        }
                    )
    return rows


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
        "`--metric` says. Cells: ours (mean over seeds) / paper / ours - paper, PSNR (dB) then SSIM.",
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
        header = ["Scale", "Set", *(display_name(a) for a in ACTIVATIONS)]
        table: dict[tuple[int, str], dict[str, str]] = {}
        for row in model_rows:
            table.setdefault((row["scale"], row["dataset"]), {})[row["activation"]] = _comparison_cell(row)
        body = [
            [f"x{scale}", dataset, *(cells.get(a, "–") for a in ACTIVATIONS)]
            for (scale, dataset), cells in table.items()
        ]
        lines += [markdown_table(header, body), ""]
    return "\n".join(lines)


def _comparison_cell(row: dict[str, Any]) -> str:
    def part(ours: float, paper: float, digits: int) -> str:
        if not math.isfinite(ours):
            return f"– / {paper:.{digits}f}"
        return f"{ours:.{digits}f} / {paper:.{digits}f} / {ours - paper:+.{digits}f}"

    return f"{part(row['psnr_ours'], row['psnr_paper'], 2)}; {part(row['ssim_ours'], row['ssim_paper'], 4)}"

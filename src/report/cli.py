"""Command line: read sweeps, write table1.{md,csv,tex}, the paper comparison and the plots."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from src.report import architectures, paper, plots
from src.report.collect import BICUBIC, Job, NoResultsError, collect
from src.report.summary import Summary, summarize
from src.report.tables import csv_text, latex, markdown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m src.report",
        description="The paper's Table 1 (PSNR / SSIM per scale, set and activation) with seed spread, "
        "paired ΔPSNR vs ReLU (bootstrap CI, Wilcoxon p) and plots, from the results.json files of sweeps.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep or job directories, searched recursively")
    parser.add_argument("--out", type=Path, help="output directory (default: <first dir>/report)")
    parser.add_argument("--paper", action="store_true", help="add the paper's own Table 1 beside ours")
    parser.add_argument(
        "--metric", choices=("y", "rgb"), default="y", help="PSNR/SSIM on the Y channel (default) or on RGB"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        print(f"error: no such directory: {missing[0]}", file=sys.stderr)
        return 2
    out: Path = args.out or args.dirs[0] / "report"
    try:
        jobs = collect(args.dirs, exclude=out)
    except NoResultsError as err:
        print(
            f"error: no results.json found under {err}; run a sweep first: python -m src.train -m ...",
            file=sys.stderr,
        )
        return 2

    summary = summarize(jobs, f"psnr_{args.metric}", f"ssim_{args.metric}")
    text = markdown(summary, args.metric)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "table1.md", out / "table1.csv", out / "table1.tex"]
    if args.paper:
        # The paper's convention (Y PSNR, RGB SSIM) is fixed, so its comparison is summarized apart.
        rows = paper.comparison_rows(summarize(jobs, paper.PAPER_PSNR_KEY, paper.PAPER_SSIM_KEY, paired=False))
        text += "\n" + paper.comparison_markdown(rows)
        (out / "paper_comparison.csv").write_text(paper.comparison_csv(rows))
        written.append(out / "paper_comparison.csv")
    (out / "table1.md").write_text(text)
    (out / "table1.csv").write_text(csv_text(summary))
    (out / "table1.tex").write_text(latex(summary, args.metric))
    print(text)

    messages = _plots(summary, jobs, out, written)
    print("\n".join([*messages, *(f"wrote {path}" for path in written)]))
    architectures.report(jobs, out, f"psnr_{args.metric}")
    return 0


def _plots(summary: Summary, jobs: list[Job], out: Path, written: list[Path]) -> list[str]:
    messages = []
    activations = _activation_params(jobs)
    if activations:
        unknown = plots.activation_curves(activations, out / "activations.png")
        written.append(out / "activations.png")
        if unknown:
            messages.append(f"activations.png: no formula for {', '.join(unknown)}; left out")
    if plots.delta_psnr(summary, out / "delta_psnr.png"):
        written.append(out / "delta_psnr.png")
    else:
        messages.append("skipped delta_psnr.png: no activation has image pairs with a ReLU run")
    if plots.training_curves(jobs, summary.psnr_key, out / "training_curves.png"):
        written.append(out / "training_curves.png")
    else:
        messages.append("skipped training_curves.png: no job logged a training history")
    return messages


def _activation_params(jobs: list[Job]) -> dict[str, dict[str, Any]]:
    """Each activation label with the parameters a run reported for it (unfinished runs report none)."""
    found: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.activation and job.activation != BICUBIC and not found.get(job.activation):
            found[job.activation] = job.activation_params
    return found

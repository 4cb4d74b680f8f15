"""Command line: read sweeps, write table1.{md,csv,tex}, the paper comparison, the seed plan and the plots."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError, user_errors_exit
from src.contracts.results import FINISHED
from src.report import architectures, paper, plots
from src.report.collect import BICUBIC, Job, collect
from src.report.planning import plan_markdown
from src.report.summary import Summary, summarize
from src.report.tables import csv_text, latex, markdown


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m src.report",
        description="The paper's Table 1 from the results.json files of sweeps, in dB vs ReLU with seed-level "
        "paired t-intervals, Holm-adjusted tests, minimum detectable effects and plots.",
    )
    parser.add_argument("dirs", nargs="+", type=Path, help="sweep or job directories, searched recursively")
    parser.add_argument("--out", type=Path, help="output directory (default: <first dir>/report)")
    parser.add_argument(
        "--paper", action="store_true", help="add the paper's own Table 1 beside ours, with % vs ReLU and averages"
    )
    parser.add_argument(
        "--metric", choices=("y", "rgb"), default="y", help="PSNR/SSIM on the Y channel (default) or on RGB"
    )
    parser.add_argument(
        "--plan",
        type=float,
        metavar="DB",
        help="print how many seeds per activation detect a ΔPSNR of DB dB at 80%% power, given these runs' spread",
    )
    return parser


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    missing = [d for d in args.dirs if not d.is_dir()]
    if missing:
        raise UserError(f"no such directory: {missing[0]}; pass a sweep directory (hydra.sweep.dir)")
    if args.plan is not None and not args.plan > 0:
        raise UserError(f"--plan {args.plan}: give the effect to detect in dB, a number > 0 (e.g. --plan 0.02)")
    out: Path = args.out or args.dirs[0] / "report"
    jobs = collect(args.dirs, exclude=out)
    if not any(job.status == FINISHED for job in jobs):
        statuses = sorted({job.status for job in jobs})
        raise UserError(
            f"no usable run under {', '.join(map(str, args.dirs))}: {len(jobs)} job(s), none finished "
            f"({', '.join(statuses)}); see their directories, then rerun the sweep"
        )

    summary = summarize(jobs, f"psnr_{args.metric}", f"ssim_{args.metric}")
    text = markdown(summary, args.metric)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "table1.md", out / "table1.csv", out / "table1.tex"]
    if args.paper:
        text += "\n" + _paper(jobs, out, written)
    if args.plan is not None:
        text += "\n" + plan_markdown(summary, args.plan)
    (out / "table1.md").write_text(text)
    (out / "table1.csv").write_text(csv_text(summary))
    (out / "table1.tex").write_text(latex(summary, args.metric))
    print(text)

    messages = _plots(summary, jobs, out, written)
    print("\n".join([*messages, *(f"wrote {path}" for path in written)]))
    architectures.report(summary, out)
    return 0


def _paper(jobs: list[Job], out: Path, written: list[Path]) -> str:
    # The paper's convention (Y PSNR, RGB SSIM) is fixed, so its comparison is summarized apart.
    rows = paper.comparison_rows(summarize(jobs, paper.PAPER_PSNR_KEY, paper.PAPER_SSIM_KEY))
    (out / "paper_comparison.csv").write_text(paper.comparison_csv(rows))
    written.append(out / "paper_comparison.csv")
    return paper.comparison_markdown(rows)


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
        messages.append("skipped delta_psnr.png: no activation has a seed paired with a ReLU run")
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

"""Command line: read sweeps, write table1.{md,csv,tex}, the paper comparison, the seed plan and the plots.

`write_report` is the whole report as a function (the dashboard calls it); `main` parses the command line.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError, user_errors_exit
from src.contracts.results import FINISHED
from src.contracts.rundir import SweepDir
from src.report import architectures, paper, plots
from src.report.collect import Job, collect
from src.report.decisions import DEFAULT_MARGIN
from src.report.factor import DEFAULT_FACTOR, DEFAULT_REFERENCE, Factor
from src.report.pictures import write_pictures
from src.report.planning import plan_markdown
from src.report.seen import seed_warnings
from src.report.summary import Summary, summarize
from src.report.tables import csv_text, latex, markdown


@dataclass(frozen=True)
class Options:
    factor: Factor = field(default_factory=Factor)
    # None: the jobs' `report.margin`, else DEFAULT_MARGIN.
    margin: float | None = None
    metric: str = "y"
    paper: bool = False
    plan: float | None = None
    family: int | None = None
    qualitative: bool = False


@dataclass
class Report:
    text: str
    written: list[Path]
    messages: list[str]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m src.report",
        description="The paper's Table 1 from the results.json files of sweeps: differences vs a reference level "
        "with seed-level paired t-intervals, Holm-adjusted tests, a verdict per comparison and plots.",
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
        "--factor", default=DEFAULT_FACTOR, help="the config key under test (default: activation; e.g. optim.lr)"
    )
    parser.add_argument("--reference", help="the factor's reference level (default: relu for the activation)")
    parser.add_argument(
        "--margin",
        type=float,
        metavar="DB",
        help=f"equivalence margin in dB (default: the jobs' report.margin, else {DEFAULT_MARGIN})",
    )
    parser.add_argument(
        "--plan",
        type=float,
        metavar="DB",
        help="print how many seeds per level detect a ΔPSNR of DB dB at 80%% power, given these runs' spread",
    )
    parser.add_argument(
        "--qualitative",
        action="store_true",
        help="also draw crops of HR, bicubic and each level's output where they differ most, from the jobs' "
        "checkpoints (runs the networks on a CPU)",
    )
    parser.add_argument(
        "--family", type=int, metavar="M", help="Holm family size of the planned sweep (default: this table's)"
    )
    return parser


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.reference is None and args.factor != DEFAULT_FACTOR:
        raise UserError(f"--factor {args.factor} needs --reference VALUE: the level the others are compared with")
    options = Options(
        Factor(args.factor, args.reference or DEFAULT_REFERENCE),
        args.margin,
        args.metric,
        args.paper,
        args.plan,
        args.family,
        args.qualitative,
    )
    report = write_report(args.dirs, args.out, options)
    print(report.text)
    print("\n".join([*report.messages, *(f"wrote {path}" for path in report.written)]))
    return 0


def write_report(dirs: Sequence[Path], out: Path | None = None, options: Options | None = None) -> Report:
    """Read the jobs below `dirs`, write the report to `out` (default: the first dir's report folder) and return
    its Markdown, the files written and the notes; a UserError when nothing is usable."""
    options = options or Options()
    _check(dirs, options)
    out = out or SweepDir(dirs[0]).report
    jobs = collect(dirs, exclude=out)
    _usable(jobs, dirs)
    options.factor.check(jobs)
    margin = options.margin or _declared_margin(jobs)
    summary = summarize(jobs, f"psnr_{options.metric}", f"ssim_{options.metric}", options.factor, margin)
    out.mkdir(parents=True, exist_ok=True)
    warnings = seed_warnings(jobs, out)
    text = "".join(f"> warning: {w}\n\n" for w in warnings) + markdown(summary, options.metric)
    written = [out / SweepDir(out.parent).table1.name, out / "table1.csv", out / "table1.tex"]
    if options.paper:
        text += "\n" + _paper(jobs, out, written)
    if options.plan is not None:
        text += "\n" + plan_markdown(summary, options.plan, options.family)
    written[0].write_text(text)
    written[1].write_text(csv_text(summary))
    written[2].write_text(latex(summary, options.metric))
    messages = _plots(summary, jobs, out, written)
    pictures, notes = write_pictures(summary, jobs, out, qualitative=options.qualitative)
    written += pictures
    messages += notes
    across, paths = architectures.report(summary, out)
    return Report(text, written + paths, ([across] if across else []) + messages)


def _check(dirs: Sequence[Path], options: Options) -> None:
    missing = [d for d in dirs if not Path(d).is_dir()]
    if missing:
        raise UserError(f"no such directory: {missing[0]}; pass a sweep directory (hydra.sweep.dir)")
    if options.plan is not None and not options.plan > 0:
        raise UserError(f"--plan {options.plan}: give the effect to detect in dB, a number > 0 (e.g. --plan 0.02)")
    if options.margin is not None and not options.margin > 0:
        raise UserError(f"--margin {options.margin}: give the equivalence margin in dB, a number > 0 (e.g. 0.05)")
    if options.family is not None and options.family < 1:
        raise UserError(f"--family {options.family}: give the number of comparisons the sweep tests, at least 1")


def _usable(jobs: list[Job], dirs: Sequence[Path]) -> None:
    """A UserError naming the jobs left out, and why, when none is usable."""
    if any(job.status == FINISHED for job in jobs):
        return
    statuses = sorted({job.status for job in jobs})
    why = "; ".join(job.describe() for job in jobs[:3]) + (f"; +{len(jobs) - 3} more" if len(jobs) > 3 else "")
    raise UserError(
        f"no usable run under {', '.join(map(str, dirs))}: {len(jobs)} job(s), none finished "
        f"({', '.join(statuses)}): {why}; see their directories, then rerun the sweep"
    )


def _declared_margin(jobs: list[Job]) -> float:
    """The margin the jobs' configs declared (`report.margin`); they must agree, else --margin decides."""
    declared = sorted({job.margin for job in jobs if job.margin is not None})
    if len(declared) > 1:
        raise UserError(
            f"the jobs declare different report.margin values ({', '.join(f'{m:g}' for m in declared)}); "
            "pass --margin DB to choose one"
        )
    return declared[0] if declared else DEFAULT_MARGIN


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
        messages.append("skipped delta_psnr.png: no level has a seed paired with a reference run")
    if plots.training_curves(jobs, summary.psnr_key, out / "training_curves.png"):
        written.append(out / "training_curves.png")
    else:
        messages.append("skipped training_curves.png: no job logged a training history")
    return messages


def _activation_params(jobs: list[Job]) -> dict[str, dict[str, Any]]:
    """Each activation label with the parameters a run reported for it (unfinished runs report none)."""
    found: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.activation and not job.is_bicubic and not found.get(job.activation):
            found[job.activation] = job.activation_params
    return found

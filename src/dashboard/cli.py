"""`python -m src.dashboard SWEEP_DIR`: the sweep's W&B workspace views and Table 1 report, as a specification
file (dry run, the default without W&B credentials) or published (with them)."""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError, user_errors_exit
from src.contracts.rundir import SweepDir
from src.dashboard.publish import base_url, check_reachable, has_credentials
from src.dashboard.sweep import Sweep, read_sweep, report_dir

SPEC_FILE = "wandb_dashboard.json"
INSTALL_HINT = 'pip install -e ".[dashboards]"'


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m src.dashboard",
        description="W&B workspace views (one per scale) and a Table 1 report for a sweep's runs.",
    )
    parser.add_argument("sweep", type=Path, help="the sweep directory (hydra.sweep.dir): its name is the W&B group")
    parser.add_argument("--entity", help="W&B entity (default: the jobs' logger.wandb.entity, else your default)")
    parser.add_argument("--project", help="W&B project (default: the jobs' logger.wandb.project)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=f"only write <sweep>/{SweepDir('.').report.name}/{SPEC_FILE} (the default without W&B credentials)",
    )
    return parser


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from src.dashboard import spec
    except ImportError as err:
        raise UserError(f"W&B dashboards need the optional extra ({err.name} is missing): {INSTALL_HINT}") from None
    sweep = read_sweep(args.sweep)
    for note in sweep.left_out:
        print(f"left out: {note}")
    project = args.project or sweep.project
    if not project:
        raise UserError("the jobs name no W&B project; pass --project NAME")
    publish = not args.dry_run and has_credentials()
    if publish:
        check_reachable()
    with _report_files(sweep) as (table, plots):
        if publish:
            return _publish(spec, sweep, args.entity or sweep.entity, project, table, plots)
        return _dry_run(spec, sweep, args.entity or sweep.entity or "", project, table, plots, args)


@contextlib.contextmanager
def _report_files(sweep: Sweep):
    """Table 1 Markdown and plots from the sweep's report folder (src.report's outputs); when absent, src.report
    writes them to a temporary directory, so the sweep's directory is not written to."""
    from src.report.cli import write_report

    existing = SweepDir(sweep.directory)
    if existing.table1.is_file():
        yield existing.table1.read_text(), _plots(existing.report)
        return
    with tempfile.TemporaryDirectory() as tmp:
        report = write_report([sweep.directory], Path(tmp))
        yield report.text, _plots(Path(tmp))


def _plots(directory: Path) -> dict[str, Path]:
    """src.report's PNGs by stem (delta_psnr, training_curves, activations)."""
    return {path.stem: path for path in sorted(directory.glob("*.png"))}


def specification(
    spec: Any, sweep: Sweep, entity: str, project: str, table: str, plots: dict[str, Path], offline: bool
):
    """The views, the report and the serialised specification of both."""
    views = spec.workspaces(sweep, entity, project)
    report = spec.report(sweep, entity, project, table, list(plots), offline=offline)
    document = {
        "sweep": sweep.name,
        "entity": entity,
        "project": project,
        "workspaces": [spec.dump(view) for view in views],
        "report": spec.dump(report),
        "report_plots": {spec.plot_key(stem): path.name for stem, path in plots.items()},
    }
    return views, report, document


def _dry_run(spec, sweep, entity, project, table, plots, args) -> int:
    views, report, document = specification(spec, sweep, entity, project, table, plots, offline=True)
    out = report_dir(sweep) / SPEC_FILE
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1) + "\n")
    why = "--dry-run" if args.dry_run else f"no W&B credentials for {base_url()}"
    print(
        f"dry run ({why}): wrote {out}: {len(views)} workspace view(s) ({', '.join(v.name for v in views)}) and "
        f"the report '{report.title}'.\nTo publish: `wandb sync {sweep.directory}/*/wandb/offline-run-*`, "
        f"`wandb login`, then `python -m src.dashboard {sweep.directory}"
        + ("" if entity else " --entity YOUR_ENTITY")
        + f" --project {project}`"
    )
    return 0


def _publish(spec, sweep, entity, project, table, plots) -> int:
    from src.dashboard import publish

    with publish.refusals(f"{entity or 'your default entity'}/{project}"):
        entity = entity or publish.default_entity()
        views, report, _ = specification(spec, sweep, entity, project, table, plots, offline=False)
        # Views and report first: a wrong entity or project fails there, before any run is created.
        urls = [view.save().url for view in views] + [report.save().url]
        if plots:
            uploads = {spec.plot_key(stem): path for stem, path in plots.items()}
            publish.log_plots(entity, project, sweep.name, spec.PLOTS_JOB_TYPE, uploads)
    print("\n".join(f"published {url}" for url in urls))
    return 0

"""The workspace views and the report of one sweep, composed from `wandb_workspaces`' own classes."""

from __future__ import annotations

from typing import Any

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws
from wandb_workspaces import expr

from src.dashboard.sweep import TABLE_METRICS, Sweep

# Lightning's WandbLogger logs every metric against this step metric (W&B's own `_step` counts log calls).
STEP = "trainer/global_step"
TRAIN_CURVES = ("train/loss", "train/lr")
CROPS = "val/crops"  # src/runtime/callbacks.py
PER_IMAGE_TABLE = "test/per_image"  # src/runtime/loggers.py
# The run that carries the report's plots (src.report's PNGs as W&B images), in the sweep's group.
PLOTS_JOB_TYPE = "report"
# src.report's per-image and qualitative figures (src/report/per_image.py, qualitative.py): a section of their own.
PICTURES = ("per_image", "qualitative")
PICTURES_TITLE = "Where the differences are: per image, and what they look like"
PICTURES_TEXT = (
    "per_image_x*: each test image's ΔPSNR vs the reference (bar: mean over seeds, dots: each seed's paired "
    "difference), sorted, one panel per level and set; the title says how many images hold half of the total "
    "|Δ|. qualitative_x*: the same crop of HR, bicubic and each level's output (PSNR-Y / SSIM-Y over the crop) "
    "with |SR - HR| maps, for the images where the levels differ most and the one where they agree."
)
TITLES = {"psnr_y": "PSNR-Y (dB)", "ssim_y": "SSIM-Y", "psnr_rgb": "PSNR-RGB (dB)", "ssim_rgb": "SSIM-RGB"}


def report_title(sweep: Sweep) -> str:
    return f"Table 1: activation functions in EDSR, {sweep.name}"[:128]  # W&B caps report titles at 128


def plot_key(stem: str) -> str:
    """The W&B image key a report plot (`report/<stem>.png`) is logged under."""
    return f"report/{stem}"


def _activation_keys(sweep: Sweep) -> list[str]:
    """Config keys that tell activations apart: the name and every parameter used in the sweep (lrelu 0.1/0.2)."""
    return ["activation.name", *(f"activation.params.{p}" for p in sweep.activation_params)]


def _config_column(key: str) -> str:
    """A runs-table column for a (nested) config key: W&B stores `a.b` as `a.value.b`."""
    first, *rest = key.split(".")
    return ".".join([f"config:{first}", "value", *rest])


def _runs_columns(sweep: Sweep) -> list[str]:
    config = ["model.name", *_activation_keys(sweep), "scale", "seed"]
    summary = ["status", "train/steps", *(f"test/{s}/{m}" for s in sweep.test_sets for m in TABLE_METRICS)]
    return ["run:displayName", *map(_config_column, config), "run:state", *(f"summary:{k}" for k in summary)]


def _job_filters(sweep: Sweep, scale: int, job_type: str | None) -> expr.And:
    """The sweep's training runs at one scale (its group also holds the run that carries the report's plots)."""
    filters = [expr.Metric("Group") == sweep.name, expr.Config("scale") == scale]
    return expr.And(*filters, *([expr.Metric("JobType") == job_type] if job_type else []))


def _curves(sweep: Sweep) -> list[wr.LinePlot]:
    """Validation PSNR/SSIM per set: mean over the seeds of a group with a min-max band."""
    return [
        wr.LinePlot(
            title=f"val {name} {TITLES[m]}",
            x=STEP,
            y=[f"val/{name}/{m}"],
            groupby_aggfunc="mean",
            groupby_rangefunc="minmax",
        )
        for name in sweep.val_sets
        for m in TABLE_METRICS
    ]


def _training(sweep: Sweep) -> list[wr.LinePlot]:
    return [
        wr.LinePlot(title=key, x=STEP, y=[key], groupby_aggfunc="mean", groupby_rangefunc="minmax", log_y=True)
        for key in TRAIN_CURVES
    ]


def _comparison(sweep: Sweep) -> list[Any]:
    """Activation, scale, seed -> test PSNR per set, and a side-by-side of the runs' configs and summaries."""
    axes = [wr.Config(k) for k in (*_activation_keys(sweep), "scale", "seed")]
    axes += [wr.SummaryMetric(f"test/{s}/psnr_y") for s in sweep.test_sets]
    return [
        wr.ParallelCoordinatesPlot(
            title="activation, scale, seed -> test PSNR-Y",
            columns=[wr.ParallelCoordinatesPlotColumn(metric=a) for a in axes],
        ),
        wr.RunComparer(diff_only="split"),
    ]


def _images(sweep: Sweep) -> list[Any]:
    """The validation crops (bicubic | SR | HR) over training and the per-image test scores."""
    crops = [wr.MediaBrowser(title="validation crops: bicubic | SR | HR", media_keys=[CROPS])] if sweep.crops else []
    return [*crops, wr.WeavePanelSummaryTable(table_name=PER_IMAGE_TABLE, layout=wr.Layout(w=16, h=8))]


def workspaces(sweep: Sweep, entity: str, project: str) -> list[ws.Workspace]:
    """One saved view per scale: every panel of a W&B view draws from the view's single run set, so the scale is
    a filter of the view (a section per scale would mix x2 and x4 curves). Runs are grouped by activation, so
    each curve is the mean over seeds with a min-max band."""
    return [
        ws.Workspace(
            entity=entity,
            project=project,
            name=f"{sweep.name} x{scale}",
            sections=[
                ws.Section(name="Validation PSNR / SSIM", panels=_curves(sweep), is_open=True),
                ws.Section(name="Training loss and learning rate", panels=_training(sweep), is_open=True),
                ws.Section(name="Test: activation, seed -> PSNR", panels=_comparison(sweep), is_open=True),
                ws.Section(name="Images and per-image scores", panels=_images(sweep)),
            ],
            settings=ws.WorkspaceSettings(x_axis=STEP),
            runset_settings=ws.RunsetSettings(
                filters=_job_filters(sweep, scale, sweep.job_type),
                groupby=[expr.Config(k) for k in _activation_keys(sweep)],
                pinned_columns=_runs_columns(sweep),
            ),
        )
        for scale in sweep.scales
    ]


def report(
    sweep: Sweep, entity: str, project: str, table_markdown: str, plot_stems: list[str], offline: bool = True
) -> wr.Report:
    """Table 1 and ΔPSNR vs ReLU (src.report's Markdown), the plots, then the same panels per scale.

    A run set naming its entity and project makes the library look the project up on the server while
    serialising, so `offline` run sets leave them out (the report's own entity and project are kept)."""
    scope = {} if offline else {"entity": entity, "project": project}
    blocks: list[Any] = [wr.TableOfContents(), wr.MarkdownBlock(text=table_markdown)]
    pictures = [stem for stem in plot_stems if stem.startswith(PICTURES)]
    for title, stems in (("Plots", [s for s in plot_stems if s not in pictures]), (PICTURES_TITLE, pictures)):
        if stems:
            plots_runset = wr.Runset(
                **scope,
                name="plots",
                filters=expr.And(expr.Metric("Group") == sweep.name, expr.Metric("JobType") == PLOTS_JOB_TYPE),
            )
            panels = [wr.MediaBrowser(title=stem, media_keys=[plot_key(stem)]) for stem in stems]
            text = [wr.MarkdownBlock(text=PICTURES_TEXT)] if title == PICTURES_TITLE else []
            blocks += [wr.H1(title), *text, wr.PanelGrid(runsets=[plots_runset], panels=panels)]
    for scale in sweep.scales:
        runset = wr.Runset(
            **scope,
            name=f"x{scale}",
            filters=_job_filters(sweep, scale, sweep.job_type),
            groupby=[f"config.{k}" for k in _activation_keys(sweep)],
            pinned_columns=_runs_columns(sweep),
        )
        panels = [*_curves(sweep), *_training(sweep), *_comparison(sweep), *_images(sweep)]
        blocks += [wr.H1(f"x{scale}"), wr.PanelGrid(runsets=[runset], panels=panels)]
    return wr.Report(
        entity=entity,
        project=project,
        title=report_title(sweep),
        description=f"{len(sweep.jobs)} jobs of sweep {sweep.name}; curves are means over seeds with min-max bands.",
        blocks=blocks,
        width="fluid",
    )


def dump(obj: ws.Workspace | wr.Report) -> dict[str, Any]:
    """The library's own pydantic model of a view or report, as W&B stores it (`_spec` of the library's Base;
    the report class's `_spec` property does not resolve in 0.4, so its model is taken directly)."""
    return obj._to_model().model_dump(by_alias=True, exclude_none=True, mode="json")

"""`python -m src.report` on synthetic sweeps whose answers are known by construction."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from src.report import main
from src.report.collect import collect
from src.report.stats import holm
from src.report.summary import summarize
from src.report.tables import CSV_COLUMNS

SCALES = (2, 4)
SETS = ("Set14", "Set5")  # deliberately not in the paper's order: the report must reorder them
SEEDS = (0, 1)
IMAGES = [f"img{i}" for i in range(5)]
# Per-image PSNR offsets from ReLU, indexed [seed][image].
OFFSETS = {
    "relu": [[0.0] * 5, [0.0] * 5],
    "lrelu": [[0.1] * 5, [0.1] * 5],
    # Per seed the set means are +0.01 and -0.01: no effect on average, a small seed-to-seed spread.
    "swish": [[0.3, -0.3, 0.1, -0.1, 0.05], [-0.3, 0.3, -0.1, 0.1, -0.05]],
    "mish": [[-0.2] * 5, [-0.1] * 5],
}


def relu_image(scale: int, dataset: str, seed: int, i: int) -> tuple[float, float]:
    base = 40.0 - 2 * scale + (1.0 if dataset == "Set5" else 0.0)
    return base + 0.5 * i + 0.2 * seed, 0.9 - 0.01 * i + 0.002 * seed


def make_job(
    activation: str | None,
    scale: int,
    seed: int,
    images: dict[str, dict[str, tuple[float, float]]],
    model: str = "edsr_baseline",
    status: str = "finished",
    history: dict[str, list[list[float]]] | None = None,
    activation_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A results.json dict; `images` maps set -> image -> (psnr_y, ssim_y); set values are their means."""
    metrics = {}
    for dataset, values in images.items():
        per_image = {
            name: {"psnr_y": p, "ssim_y": s, "psnr_rgb": p - 1.0, "ssim_rgb": s - 0.01}
            for name, (p, s) in values.items()
        }
        psnr, ssim = (float(np.mean([v[k] for v in values.values()])) for k in (0, 1))
        metrics[dataset] = {
            "psnr_y": psnr,
            "ssim_y": ssim,
            "psnr_rgb": psnr - 1.0,
            "ssim_rgb": ssim - 0.01,
            "shave": scale,
            "images": per_image,
        }
    return {
        "name": f"{activation}_x{scale}_s{seed}",
        "status": status,
        "diverged_at_step": 1234 if status == "diverged" else None,
        "model": model,
        "activation": activation,
        "activation_params": activation_params or {},
        "scale": scale,
        "seed": seed,
        "params": 1369859,
        "world_size": 1,
        "train": None,
        "metrics": metrics,
        "history": history or {},
        "config": {
            "activation": {"name": activation},
            "model": {"name": model},
            "scale": scale,
            "seed": seed,
        },
    }


def activation_images(act: str, scale: int, seed: int) -> dict[str, dict[str, tuple[float, float]]]:
    out = {}
    for dataset in SETS:
        out[dataset] = {}
        for i, name in enumerate(IMAGES):
            psnr, ssim = relu_image(scale, dataset, seed, i)
            out[dataset][name] = (psnr + OFFSETS[act][seed][i], ssim + (0.001 if act == "lrelu" else 0.0))
    return out


def write_job(root: Path, name: str, job: dict[str, Any]) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "results.json").write_text(json.dumps(job))
    return path


def write_unfinished(root: Path, name: str, activation: str, scale: int, seed: int) -> Path:
    path = root / name / ".hydra"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(
        f"activation:\n  name: {activation}\nmodel:\n  name: edsr_baseline\nscale: {scale}\nseed: {seed}\n"
    )
    return path.parent


def loss_history(seed: int) -> dict[str, list[list[float]]]:
    return {
        "train/loss": [[step, 10.0 / (1 + step) + seed] for step in range(0, 1000, 100)],
        "val/Set5/psnr_y": [[step, 30.0 + step / 1000] for step in range(0, 1000, 250)],
    }


def build_sweep(root: Path, with_history: bool = True) -> Path:
    n = 0
    for scale in SCALES:
        for seed in SEEDS:
            for act in OFFSETS:
                history = loss_history(seed) if with_history else None
                write_job(
                    root,
                    str(n),
                    make_job(act, scale, seed, activation_images(act, scale, seed), history=history),
                )
                n += 1
    return root


def run_main(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # user errors: `error: ...` and exit 2
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def report(sweep: Path) -> tuple[Path, str]:
    """One real CLI run with --paper, shared by the tests that read its files."""
    code, out, err = run_main([str(sweep), "--paper"])
    assert code == 0, err
    return sweep / "report", out


@pytest.fixture(scope="module")
def cells(sweep: Path) -> dict[tuple[int, str, str], Any]:
    (section,) = summarize(collect([sweep])).sections
    return section.cells


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def seed_diffs(act: str, scale: int, dataset: str) -> list[float]:
    """The per-seed differences as the report should form them: set value (mean over images) minus ReLU's."""
    diffs = []
    for seed in SEEDS:
        ours = activation_images(act, scale, seed)[dataset]
        relu = activation_images("relu", scale, seed)[dataset]
        diffs.append(np.mean([v[0] for v in ours.values()]) - np.mean([v[0] for v in relu.values()]))
    return diffs


def test_constant_offset_gives_exact_delta_and_no_p(cells: dict) -> None:
    for scale in SCALES:
        for dataset in SETS:
            comparison = cells[(scale, dataset, "lrelu")].psnr_vs_reference
            assert comparison.n == len(SEEDS)
            assert comparison.mean == pytest.approx(0.1, abs=1e-9)
            # Equal differences have no spread: no interval (never a zero-width [m, m]); the tests are decided by
            # where the value lies (src/report/decisions.py): a difference, well outside the margin.
            assert math.isnan(comparison.ci_low) and "no spread" in comparison.note
            assert comparison.p_value == 0.0 and comparison.verdict == "better"
            assert cells[(scale, dataset, "lrelu")].ssim_vs_reference.mean == pytest.approx(0.001)


@pytest.mark.parametrize("act", ["swish", "mish"])
def test_seed_level_comparison_is_scipys_paired_t(cells: dict, act: str) -> None:
    diffs = seed_diffs(act, 2, "Set5")
    comparison = cells[(2, "Set5", act)].psnr_vs_reference
    assert comparison.n == 2  # seeds, not seeds x images
    assert comparison.mean == pytest.approx(np.mean(diffs))
    assert comparison.p_value == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue)
    low, high = stats.t.interval(0.95, 1, loc=np.mean(diffs), scale=stats.sem(diffs))
    assert (comparison.ci_low, comparison.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert comparison.ci_low < 0 < comparison.ci_high


def test_seed_spread_matches_numpy_ddof1(sweep: Path, cells: dict) -> None:
    for scale in SCALES:
        for act in OFFSETS:
            jobs = [json.loads(p.read_text()) for p in sweep.glob("*/results.json")]
            mine = [j for j in jobs if j["activation"] == act and j["scale"] == scale]
            psnr = [j["metrics"]["Set5"]["psnr_y"] for j in mine]
            ssim = [j["metrics"]["Set5"]["ssim_y"] for j in mine]
            cell = cells[(scale, "Set5", act)]
            assert cell.n_seeds == 2
            assert cell.psnr_mean_std == pytest.approx((np.mean(psnr), np.std(psnr, ddof=1)))
            assert cell.ssim_mean_std == pytest.approx((np.mean(ssim), np.std(ssim, ddof=1)))
    # mish is 0.2 dB below ReLU at seed 0 and 0.1 dB at seed 1: the mean over seeds is -0.15.
    assert cells[(4, "Set14", "mish")].psnr_vs_reference.mean == pytest.approx(-0.15)


def test_primary_endpoint_averages_the_sets_per_seed_first(sweep: Path) -> None:
    (section,) = summarize(collect([sweep])).sections
    primary = section.primary[(2, "mish")]
    assert primary.datasets == ("Set5", "Set14")
    per_seed = [(a + b) / 2 for a, b in zip(seed_diffs("mish", 2, "Set5"), seed_diffs("mish", 2, "Set14"), strict=True)]
    assert primary.comparison.n == 2
    assert primary.comparison.p_value == pytest.approx(stats.ttest_1samp(per_seed, 0.0).pvalue)
    # Holm over the testable primary endpoints of the model (lrelu, swish and mish at two scales).
    comparisons = [p.comparison for p in section.primary.values()]
    assert len(comparisons) == 6 and all(math.isfinite(c.p_value) for c in comparisons)
    assert [c.p_adj for c in comparisons] == pytest.approx(holm([c.p_value for c in comparisons]))


def test_percent_change_is_only_in_the_paper_view(report: tuple[Path, str], cells: dict) -> None:
    relu, mish = cells[(2, "Set14", "relu")], cells[(2, "Set14", "mish")]
    table = report[1].split("## The paper's Table 1")[0]
    assert not [line for line in table.splitlines() if line.startswith("| x") and "%" in line]
    rows = read_csv(report[0] / "paper_comparison.csv")
    row = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("2", "Set14", "mish"))
    expected = (mish.psnr_mean_std[0] - relu.psnr_mean_std[0]) / relu.psnr_mean_std[0] * 100
    assert float(row["psnr_pct_vs_relu_ours"]) == pytest.approx(expected)
    assert float(row["psnr_pct_vs_relu_paper"]) == pytest.approx((33.83 - 33.95) / 33.95 * 100)
    assert f"{expected:+.2f}%" in report[1]


def test_paper_view_reproduces_the_average_row(report: tuple[Path, str]) -> None:
    from src.models.activations import PAPER_ACTIVATIONS
    from src.report.paper import PRINTED_AVERAGE, TABLE1

    # The mean over the paper's five sets gives its printed Average row: its per-set values are rounded to 0.01 dB
    # and 0.0001, so the mean of them and the printed mean of the unrounded values may differ by one last digit.
    for scale, printed in PRINTED_AVERAGE.items():
        for act, (psnr, ssim) in zip(PAPER_ACTIVATIONS, printed, strict=True):
            values = [v for (s, _, a), v in TABLE1.items() if s == scale and a == act]
            assert len(values) == 5
            assert np.mean([v[0] for v in values]) == pytest.approx(psnr, abs=0.01 + 1e-9)
            assert np.mean([v[1] for v in values]) == pytest.approx(ssim, abs=0.0001 + 1e-9)
    # Ours: the same mean over the sets both evaluated (Set5 and Set14 here), beside the paper's over those sets.
    rows = read_csv(report[0] / "paper_comparison.csv")
    average = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("4", "Average", "relu"))
    per_set = [r for r in rows if r["scale"] == "4" and r["activation"] == "relu" and r["dataset"] != "Average"]
    assert float(average["psnr_ours"]) == pytest.approx(np.mean([float(r["psnr_ours"]) for r in per_set]))
    assert float(average["psnr_paper"]) == pytest.approx((32.48 + 28.82) / 2)
    assert "| x4 | Average |" in report[1]


def test_csv_has_the_exact_columns_and_one_row_per_cell(report: tuple[Path, str], cells: dict) -> None:
    path = report[0] / "table1.csv"
    with path.open() as f:
        assert next(csv.reader(f)) == list(CSV_COLUMNS)
    rows = read_csv(path)
    assert len(rows) == len(SCALES) * len(SETS) * len(OFFSETS)
    # Sets in the paper's order, activations relu, lrelu, swish, mish.
    assert [(r["dataset"], r["activation"]) for r in rows[:5]] == [
        ("Set5", "relu"),
        ("Set5", "lrelu"),
        ("Set5", "swish"),
        ("Set5", "mish"),
        ("Set14", "relu"),
    ]
    relu = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("2", "Set5", "relu"))
    assert relu["dpsnr_vs_reference"] == relu["p_value"] == relu["dpsnr_ci_low"] == relu["n_pairs"] == ""
    lrelu = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("4", "Set5", "lrelu"))
    assert float(lrelu["dpsnr_vs_reference"]) == pytest.approx(0.1)
    assert float(lrelu["psnr_std"]) == pytest.approx(cells[(4, "Set5", "lrelu")].psnr_mean_std[1])
    assert lrelu["n_seeds"] == lrelu["n_pairs"] == "2"
    mish = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("4", "Set5", "mish"))
    comparison = cells[(4, "Set5", "mish")].psnr_vs_reference
    assert float(mish["dpsnr_sd"]) == pytest.approx(np.std(seed_diffs("mish", 4, "Set5"), ddof=1))
    assert float(mish["p_value"]) == pytest.approx(comparison.p_value)
    assert float(mish["p_adj"]) == pytest.approx(comparison.p_adj) and comparison.p_adj >= comparison.p_value
    assert float(mish["mde_80"]) == pytest.approx(comparison.mde_80) and comparison.mde_80 > 0


def test_markdown_states_metric_seeds_legend_and_best(report: tuple[Path, str]) -> None:
    text = (report[0] / "table1.md").read_text()
    assert text in report[1]
    assert "Y-channel PSNR" in text
    assert "2 seeds per cell (seeds 0, 1)" in text
    assert "* Holm-adjusted p < 0.05" in text and "paired t-interval over seeds" in text
    # The primary endpoint comes first, then Table 1 in dB, then the absolute values.
    assert text.index("### Primary endpoint") < text.index("### Table 1") < text.index("### PSNR / SSIM of every")
    rows = [line for line in text.splitlines() if line.startswith("| x2 | Set5 |")]
    delta, absolute = rows[0].split(" | "), rows[1].split(" | ")
    assert delta[2].startswith("38.10 ± 0.14 / ")  # ReLU: mean ± SD over seeds
    # LeakyReLU: Δ vs ReLU, every seed the same: no zero-width interval, a star and a verdict.
    assert delta[3] == "+0.100 (no spread)* better / +0.0010 (no spread)"
    # Two seeds cannot clear Holm over 8 comparisons at the spread the others have: no star on an interval.
    assert "]*" not in text
    assert "margin ±0.05 dB" in text
    # lrelu is best in every row of the absolute table: its PSNR is bold.
    assert absolute[3].startswith("**38.20 ± 0.14**")
    tex = (report[0] / "table1.tex").read_text()
    assert r"\toprule" in tex and r"$\Delta$PSNR" in tex and r"$\pm$" in tex


def test_paper_comparison(report: tuple[Path, str]) -> None:
    directory, out = report
    assert "38.19" in out and "38.19" in (directory / "table1.md").read_text()
    rows = read_csv(directory / "paper_comparison.csv")
    relu = next(r for r in rows if (r["scale"], r["dataset"], r["activation"]) == ("2", "Set5", "relu"))
    assert float(relu["psnr_paper"]) == 38.19
    # The paper's convention is Y PSNR with RGB SSIM; make_job puts RGB SSIM 0.01 below Y SSIM.
    assert float(relu["psnr_diff"]) == pytest.approx(float(relu["psnr_ours"]) - 38.19)
    assert float(relu["ssim_ours"]) == pytest.approx(
        np.mean([relu_image(2, "Set5", s, i)[1] for s in SEEDS for i in range(5)]) - 0.01
    )


def test_plots_are_png_files(report: tuple[Path, str]) -> None:
    for name in ("activations.png", "delta_psnr.png", "training_curves.png"):
        path = report[0] / name
        assert path.stat().st_size > 5_000, name
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.width > 300


def test_training_curves_are_skipped_without_history(tmp_path: Path) -> None:
    build_sweep(tmp_path, with_history=False)
    code, out, _ = run_main([str(tmp_path), "--out", str(tmp_path / "elsewhere")])
    assert code == 0
    assert "skipped training_curves.png" in out
    assert (tmp_path / "elsewhere" / "activations.png").is_file()
    assert (tmp_path / "elsewhere" / "delta_psnr.png").is_file()
    assert not (tmp_path / "elsewhere" / "training_curves.png").exists()


def test_diverged_and_unfinished_are_reported_and_excluded(tmp_path: Path) -> None:
    for seed in SEEDS:
        for act in ("relu", "lrelu"):
            write_job(tmp_path, f"{act}{seed}", make_job(act, 2, seed, activation_images(act, 2, seed)))
    # A diverged run may still carry finite (bad) numbers: they must not reach the mean.
    diverged = make_job("lrelu", 2, 2, {"Set5": {name: (5.0, 0.1) for name in IMAGES}}, status="diverged")
    diverged_dir = write_job(tmp_path, "lrelu2", diverged)
    unfinished_dir = write_unfinished(tmp_path, "lrelu3", "lrelu", 2, 3)

    (section,) = summarize(collect([tmp_path])).sections  # the unfinished job joins its siblings' setting
    cell = section.cells[(2, "Set5", "lrelu")]
    assert cell.n_seeds == 2
    assert cell.seeds == (0, 1)
    assert cell.psnr_vs_reference.mean == pytest.approx(0.1) and cell.psnr_vs_reference.n == 2

    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert "diverged (1/4 seeds), unfinished (1/4 seeds)" in out
    assert str(diverged_dir) in out and "diverged at step 1234" in out
    assert str(unfinished_dir) in out
    assert "never averaged in" in out
    row = next(r for r in read_csv(tmp_path / "report" / "table1.csv") if r["activation"] == "lrelu")
    assert row["n_seeds"] == "2"


def test_all_seeds_diverged_cell_says_so(tmp_path: Path) -> None:
    write_job(tmp_path, "relu", make_job("relu", 4, 0, activation_images("relu", 4, 0)))
    write_job(tmp_path, "mish", make_job("mish", 4, 0, {}, status="diverged"))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| x4 | Set5 |"))
    assert row.endswith("| diverged (1/1 seeds) |")
    assert "skipped delta_psnr.png" in out
    # One seed: no ± anywhere, and an empty std in the CSV.
    assert "±" not in row
    relu = next(r for r in read_csv(tmp_path / "report" / "table1.csv") if r["activation"] == "relu")
    assert relu["psnr_std"] == "" and relu["n_seeds"] == "1"


def test_unfinished_job_takes_the_label_of_its_finished_siblings(tmp_path: Path) -> None:
    images = activation_images("lrelu", 2, 0)
    job = make_job("lrelu(0.2)", 2, 0, images, activation_params={"negative_slope": 0.2})
    job["config"]["activation"] = {"name": "lrelu", "negative_slope": 0.2}
    write_job(tmp_path, "done", job)
    path = tmp_path / "running" / ".hydra"
    path.mkdir(parents=True)
    (path / "config.yaml").write_text(
        "activation:\n  name: lrelu\n  negative_slope: 0.2\nmodel:\n  name: edsr_baseline\nscale: 2\nseed: 1\n"
    )
    unfinished = next(j for j in collect([tmp_path]) if j.status == "unfinished")
    assert (unfinished.scale, unfinished.seed, unfinished.model) == (2, 1, "edsr_baseline")
    (section,) = summarize(collect([tmp_path])).sections
    assert section.levels == ["lrelu(0.2)"] and section.launched[(2, "lrelu(0.2)")] == 2


def test_mixed_presets_get_their_own_sections_and_a_model_column(tmp_path: Path) -> None:
    for model in ("edsr", "edsr_baseline"):
        for act in ("relu", "swish"):
            write_job(tmp_path, f"{model}_{act}", make_job(act, 2, 0, activation_images(act, 2, 0), model=model))
    write_job(tmp_path, "bicubic", make_job(None, 2, 0, {"Set5": {"img0": (33.66, 0.9299)}}, model="bicubic"))
    summary = summarize(collect([tmp_path]))
    assert [s.model for s in summary.sections] == ["edsr", "edsr_baseline"]
    assert all(s.levels == ["bicubic", "relu", "swish"] for s in summary.sections)
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert "## Model `edsr`" in out and "## Model `edsr_baseline`" in out
    assert "| Scale | Set | Bicubic | ReLU | Swish |" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    assert list(rows[0]) == ["model", "setting", *CSV_COLUMNS]
    assert {r["model"] for r in rows} == {"edsr", "edsr_baseline"}
    bicubic = next(r for r in rows if r["activation"] == "bicubic" and r["dataset"] == "Set5")
    assert float(bicubic["psnr_mean"]) == 33.66 and bicubic["dpsnr_vs_reference"] == ""


def test_rgb_metric_reads_rgb_values(sweep: Path, cells: dict) -> None:
    (section,) = summarize(collect([sweep]), "psnr_rgb", "ssim_rgb").sections
    rgb, y = section.cells[(2, "Set5", "relu")], cells[(2, "Set5", "relu")]
    assert rgb.psnr_mean_std[0] == pytest.approx(y.psnr_mean_std[0] - 1.0)
    assert section.cells[(2, "Set5", "lrelu")].psnr_vs_reference.mean == pytest.approx(0.1)


@pytest.mark.parametrize("setup", ["empty", "only_unfinished", "missing"])
def test_no_results_is_a_one_line_error(tmp_path: Path, setup: str) -> None:
    target = tmp_path / "sweep"
    if setup != "missing":
        target.mkdir()
    if setup == "only_unfinished":
        write_unfinished(target, "0", "relu", 2, 0)
    code, out, err = run_main([str(target)])
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: ")
    if setup != "missing":
        assert f"no results.json found under {target}; run a sweep first: python -m src.train -m" in err


def test_no_usable_run_is_a_one_line_error(tmp_path: Path) -> None:
    write_job(tmp_path, "mish", make_job("mish", 2, 0, {}, status="diverged"))
    write_unfinished(tmp_path, "relu", "relu", 2, 0)
    code, out, err = run_main([str(tmp_path)])
    assert (code, out) == (2, "")
    assert err.startswith("error: no usable run under") and "none finished (diverged, unfinished)" in err
    assert len(err.strip().splitlines()) == 1


def test_identical_runs_report_why_there_is_no_p_value(tmp_path: Path) -> None:
    for seed in SEEDS:
        for act in ("relu", "gelu"):
            write_job(tmp_path, f"{act}{seed}", make_job(act, 2, seed, activation_images("relu", 2, seed)))
    write_job(tmp_path, "elu0", make_job("elu", 2, 0, activation_images("relu", 2, 0)))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    # Every seed the same difference, 0: no spread, and inside the margin: equivalent.
    assert "+0.000 (no spread) equivalent" in out
    # One paired seed: a difference, but no interval and no test, and the table says why.
    assert "+0.000 undecided / +0.0000 (1 paired seed: no spread, so no CI or p)" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    gelu = next(r for r in rows if r["activation"] == "gelu" and r["dataset"] == "Set5")
    assert gelu["p_value"] == "1" and float(gelu["dpsnr_vs_reference"]) == 0.0 and gelu["n_pairs"] == "2"
    assert gelu["verdict"] == "equivalent" and gelu["dpsnr_ci_low"] == ""
    elu = next(r for r in rows if r["activation"] == "elu" and r["dataset"] == "Set5")
    assert elu["dpsnr_ci_low"] == elu["p_value"] == elu["mde_80"] == "" and elu["n_pairs"] == "1"
    assert "no spread" in elu["note"]

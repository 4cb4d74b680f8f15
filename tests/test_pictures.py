"""Per-image effects (src/report/per_image.py): the CSV against the results.json files it was made from, the
figure's layout with many levels, and the adapter from job folders (src/report/image_records.py)."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest

from src.contracts.errors import UserError
from src.contracts.results import DIVERGED, FINISHED, make_results, write_results
from src.report.image_records import SetRecord, level_value, median_seed, records_from_dirs
from src.report.per_image import figure, half_share, image_differences, write_per_image

IMAGES = {"Set5": ["baby", "bird", "butterfly", "head", "woman"], "Set14": ["comic", "lenna", "zebra"]}


def _job(
    root: Path,
    name: str,
    activation: str | None,
    scale: int,
    seed: int | None,
    status: str,
    rng,
    model: str = "edsr",
    steps: int = 8,
) -> dict:
    metrics = {
        set_name: {
            "images": {i: {"psnr_y": float(rng.uniform(25, 40)), "ssim_y": float(rng.uniform(0.7, 1))} for i in images}
        }
        for set_name, images in IMAGES.items()
    }
    results = make_results(
        name=name, status=status, model=model, activation=activation, activation_params={}, scale=scale, seed=seed,
        params=1, world_size=1, train=None, metrics=metrics, config={"optim": {"lr": 0.001 * (1 + (seed or 0))}},
        # What the runtime records as the job's identity: here the lr tied to the seed is no part of it.
        identity={
            "model.name": model, "activation.name": activation, "scale": scale, "seed": seed,
            "trainer.max_steps": steps,
        },
    )  # fmt: skip
    write_results(root / name, results)
    return results


@pytest.fixture
def sweep(tmp_path: Path) -> tuple[Path, dict]:
    """relu and identity with seeds 0-2, swish with seeds 0-1 (seed 2 unpaired), at x2 and x4, plus a bicubic
    job (no level), a diverged job and an unfinished folder: only the finished trained jobs are records."""
    rng = np.random.default_rng(0)
    jobs = {}
    for act, scale, seed in itertools.product(("relu", "swish", "identity"), (2, 4), (0, 1, 2)):
        if act == "swish" and seed == 2:
            continue
        jobs[(act, scale, seed)] = _job(tmp_path, f"{act}-x{scale}-s{seed}", act, scale, seed, FINISHED, rng)
    _job(tmp_path, "bicubic-x2", None, 2, None, FINISHED, rng)
    _job(tmp_path, "mish-x2-s0", "mish", 2, 0, DIVERGED, rng)
    (tmp_path / "unfinished" / ".hydra").mkdir(parents=True)
    (tmp_path / "unfinished" / ".hydra" / "config.yaml").write_text("seed: 0\n")
    return tmp_path, jobs


def test_csv_rows_and_seed_values_are_the_results_json_differences(sweep, tmp_path: Path) -> None:
    root, jobs = sweep
    records = records_from_dirs([root])
    assert {r.level for r in records} == {"relu", "swish", "identity"}  # no bicubic, no diverged mish
    written = write_per_image(records, "relu", tmp_path / "out")
    assert [p.name for p in written] == ["per_image.csv", "per_image_x2.png", "per_image_x4.png"]
    rows = list(csv.DictReader(written[0].open()))
    # One row per scale, set, image and level other than the reference.
    n_images = sum(len(v) for v in IMAGES.values())
    assert len(rows) == 2 * n_images * 2
    assert {(r["scale"], r["set"], r["image"], r["level"]) for r in rows} == {
        (str(s), set_name, i, lv) for s in (2, 4) for set_name, ims in IMAGES.items() for i in ims
        for lv in ("swish", "identity")
    }  # fmt: skip
    for row in rows:
        scale, level, image, set_name = int(row["scale"]), row["level"], row["image"], row["set"]
        seeds = (0, 1) if level == "swish" else (0, 1, 2)
        expected = {
            s: jobs[(level, scale, s)]["metrics"][set_name]["images"][image]["psnr_y"]
            - jobs[("relu", scale, s)]["metrics"][set_name]["images"][image]["psnr_y"]
            for s in seeds
        }
        assert int(row["n_seeds"]) == len(seeds)
        for s in (0, 1, 2):
            cell = row[f"seed_{s}"]
            assert (cell == "") if s not in expected else float(cell) == pytest.approx(expected[s], abs=1e-6)
        assert float(row["delta_mean"]) == pytest.approx(np.mean(list(expected.values())), abs=1e-6)
        reference = np.mean([jobs[("relu", scale, s)]["metrics"][set_name]["images"][image]["psnr_y"] for s in seeds])
        assert float(row["reference_mean"]) == pytest.approx(reference, abs=1e-6)


def test_rows_are_sorted_within_each_panel_and_ranked(sweep) -> None:
    root, _ = sweep
    import csv as _csv
    import io

    from src.report.per_image import csv_text

    rows = list(_csv.DictReader(io.StringIO(csv_text(image_differences(records_from_dirs([root]), "relu")))))
    for _, panel in itertools.groupby(rows, key=lambda r: (r["scale"], r["set"], r["level"])):
        panel = list(panel)
        means = [float(r["delta_mean"]) for r in panel]
        assert means == sorted(means)
        assert [int(r["rank"]) for r in panel] == list(range(1, len(panel) + 1))


def test_set_difference_is_the_mean_of_image_differences(sweep) -> None:
    """A set's PSNR is the mean over its images, so the panels' set line is the set-level paired difference."""
    root, jobs = sweep
    rows = [r for r in image_differences(records_from_dirs([root]), "relu") if (r.scale, r.set_name) == (2, "Set5")]
    identity = [r.mean for r in rows if r.level == "identity"]

    def set_mean(act, s):
        return np.mean([v["psnr_y"] for v in jobs[(act, 2, s)]["metrics"]["Set5"]["images"].values()])

    expected = np.mean([set_mean("identity", s) - set_mean("relu", s) for s in (0, 1, 2)])
    assert np.mean(identity) == pytest.approx(expected, abs=1e-9)


def test_half_share_tells_broad_from_concentrated() -> None:
    assert half_share([-1.0, 0.01, 0.01, -0.02, 0.0]) == 1  # one image carries it
    assert half_share([0.1] * 10) == 5  # broad: half the images hold half of it


def test_unpaired_reference_is_one_line_error(sweep, tmp_path: Path) -> None:
    root, _ = sweep
    records = [r for r in records_from_dirs([root]) if r.level != "relu"]
    with pytest.raises(UserError, match="no level ran a seed that a relu run also ran"):
        write_per_image(records, "relu", tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_levels_of_any_config_key_with_caller_labels(sweep) -> None:
    """A level is the value of a config key (here optim.lr, which the synthetic jobs tie to the seed)."""
    root, _ = sweep
    records = records_from_dirs([root], key="optim.lr", label=lambda v: f"lr={v:g}", where={"activation": "relu"})
    assert {r.level for r in records} == {"lr=0.001", "lr=0.002", "lr=0.003"}
    assert level_value({"activation": "mish", "config": {"a": {"b": 3}}}, "a.b") == 3
    assert level_value({"config": {}}, "a.b") is None


def test_median_seed_is_the_middle_run_by_set_value() -> None:
    def rec(seed: int, value: float) -> SetRecord:
        return SetRecord("relu", seed, 2, "Set5", Path("."), {"a": {"psnr_y": value}, "b": {"psnr_y": value}})

    runs = {0: rec(0, 30.0), 1: rec(1, 32.0), 2: rec(2, 31.0), 3: rec(3, 29.0)}
    assert median_seed(runs) == 0  # values 29, 30, 31, 32: the lower middle is seed 0's 30
    assert median_seed({s: runs[s] for s in (0, 1, 2)}) == 2


def _overlaps(figure_) -> list[tuple[int, int]]:
    """Pairs of axes whose drawn boxes (tick labels and titles included) overlap."""
    renderer = figure_.canvas.get_renderer()
    boxes = [a.get_tightbbox(renderer) for a in figure_.axes if a.get_visible()]
    return [(i, j) for i, j in itertools.combinations(range(len(boxes)), 2) if boxes[i].overlaps(boxes[j])]


@pytest.mark.parametrize("sets", [("Set5",), ("Set5", "Urban100")])
def test_figure_stays_readable_with_eight_levels(sets: tuple[str, ...]) -> None:
    """8 levels (7 compared with the reference) and 30 images a set: panels wrap, nothing overlaps, and the
    figure stays within a screen-sized page."""
    rng = np.random.default_rng(1)
    levels = ["relu", "lrelu", "swish", "mish", "gelu", "elu", "prelu", "identity"]
    names = [f"img{i:03d}" for i in range(30)]
    records = [
        SetRecord(lv, s, 4, set_name, Path("."), {n: {"psnr_y": float(rng.normal(30, 2))} for n in names})
        for lv in levels
        for s in range(3)
        for set_name in sets
    ]
    fig = figure(image_differences(records, "relu"), 4)
    fig.canvas.draw()
    assert len(fig.axes) == 7 * len(sets)
    width, height = fig.get_size_inches()
    assert width <= 20 and height <= 22
    assert _overlaps(fig) == []


def test_the_wandb_report_shows_the_pictures_in_a_section_of_their_own(tmp_path: Path) -> None:
    import wandb_workspaces.reports.v2 as wr

    from src.dashboard import spec
    from src.dashboard.sweep import Sweep

    sweep = Sweep("demo", tmp_path, (), (2,), ("PhotosVal",), ("Photos",), (), False, None, None, None)
    stems = ["delta_psnr", "per_image_x2", "qualitative_x2_Photos"]
    report = spec.report(sweep, "team", "proj", "| a |\n|---|\n| 1 |", stems)
    headings = [b.text for b in report.blocks if isinstance(b, wr.H1)]
    assert headings[:2] == ["Plots", spec.PICTURES_TITLE]
    grids = [b for b in report.blocks if isinstance(b, wr.PanelGrid)]
    keys = [[p.media_keys[0] for p in g.panels] for g in grids[:2]]
    assert keys == [["report/delta_psnr"], ["report/per_image_x2", "report/qualitative_x2_Photos"]]


def _report_pictures(root: Path, out: Path, reference: str = "relu") -> tuple[list[Path], list[str]]:
    """What `python -m src.report` draws: the pictures of its collected jobs, per Table 1 section."""
    from src.report.collect import collect
    from src.report.factor import Factor
    from src.report.pictures import write_pictures
    from src.report.summary import summarize

    jobs = collect([root])
    return write_pictures(summarize(jobs, "psnr_y", "ssim_y", Factor("activation", reference)), jobs, out)


def test_the_report_call_draws_one_comparison_per_model(sweep, tmp_path: Path) -> None:
    """An architectures sweep: each model's levels are compared with that model's reference, files tagged."""
    root, _ = sweep
    rng = np.random.default_rng(2)
    for act in ("relu", "mish"):
        _job(root, f"rcan-{act}-x2-s0", act, 2, 0, FINISHED, rng, model="rcan")
    written, messages = _report_pictures(root, tmp_path / "out")
    assert [p.name for p in written] == [
        "per_image_edsr.csv", "per_image_edsr_x2.png", "per_image_edsr_x4.png", "per_image_rcan.csv",
        "per_image_rcan_x2.png",
    ]  # fmt: skip
    assert messages == []
    rcan = list(csv.DictReader((tmp_path / "out" / "per_image_rcan.csv").open()))
    assert {r["level"] for r in rcan} == {"mish"} and len(rcan) == sum(len(v) for v in IMAGES.values())
    _, messages = _report_pictures(root, tmp_path / "none", "gelu")
    assert len(messages) == 2 and all("no gelu run" in m for m in messages)


def test_scales_trained_to_their_own_schedule_share_one_figure(tmp_path: Path) -> None:
    """The demo trains x2 600 steps and x4 200 from x2: its scales differ in more than the scale, as Table 1's
    sections allow; the figures follow the sections, so one CSV holds both scales (no second, tagged copy)."""
    rng = np.random.default_rng(3)
    for act, (scale, steps), seed in itertools.product(("relu", "mish"), ((2, 600), (4, 200)), (0, 1)):
        _job(tmp_path, f"{act}-x{scale}-s{seed}", act, scale, seed, FINISHED, rng, steps=steps)
    written, messages = _report_pictures(tmp_path, tmp_path / "out")
    assert messages == [] and [p.name for p in written] == ["per_image.csv", "per_image_x2.png", "per_image_x4.png"]

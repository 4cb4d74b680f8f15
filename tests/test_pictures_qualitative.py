"""The qualitative comparison (src/report/qualitative.py): its crops are the jobs' networks' own outputs, a
level whose network differs strongly is what it picks, and the figure stays readable with 8 levels.

Jobs here are real job folders without training: a network of the smoke experiment's size with seeded init
weights, saved as this project's checkpoints are, and a results.json whose per-image scores come from scoring
that network on crops of Set5 through the protocol, so every number the figure shows can be checked against its source.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from src.contracts.errors import UserError
from src.contracts.identity import job_identity
from src.contracts.results import FINISHED, job_labels, make_results, read_results, write_results
from src.contracts.rundir import RunDir
from src.report import qualitative
from src.report.image_records import records_from_dirs
from src.report.per_image import write_per_image
from src.report.qualitative import Box, Comparison, Tile, group_comparisons, locate, write_qualitative
from tests.helpers import compose_config

SCALE = 2
SET = "Small"
STEPS = 8
LEVELS = ("relu", "lrelu", "mish")  # mish is the positive control: relu's weights, its output scaled x4


def _write_job(job: Path, data_root: Path, act: str, seed: int) -> torch.nn.Module:
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from src.models.weights import IDENTITY_KEY
    from src.protocol.scoring import score_sets

    cfg = compose_config(
        "train", "experiment=smoke", f"activation={act}", f"scale={SCALE}", f"seed={seed}",
        f"paths.data_dir={data_root}", f"paths.output_dir={job}", f"data.test_sets=[{SET}]",
    )  # fmt: skip
    torch.manual_seed(seed)  # lrelu and mish share relu's weights of the same seed
    net = instantiate(cfg.model.net).eval()
    if act == "mish":
        with torch.no_grad():
            net.tail[-1].weight.mul_(4.0)
    identity = job_identity(cfg)
    run = RunDir(job)
    run.checkpoints.mkdir(parents=True)
    state = {f"net.{k}": v for k, v in net.state_dict().items()}
    torch.save({"state_dict": state, "global_step": STEPS, IDENTITY_KEY: identity}, run.last_checkpoint)
    metrics = score_sets(net, data_root, [SET], SCALE)
    results = make_results(
        **job_labels(cfg), status=FINISHED, params=1, world_size=1, train={"steps": STEPS}, metrics=metrics,
        config=OmegaConf.to_container(cfg, resolve=True), identity=identity,
    )  # fmt: skip
    write_results(job, results)
    return net


@pytest.fixture(scope="module")
def data_root(benchmark_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test set `Small`: 120x96 crops of the Set5 images (whole ones would only make the tests slower), and
    the helpers' training images for the one test that trains."""
    from src.data.images import read_image, write_image
    from tests.helpers import make_data_root

    root = make_data_root(tmp_path_factory.mktemp("pictures_data") / "root", benchmark_dir, sets=())
    for path in sorted((benchmark_dir / "Set5" / "HR").glob("*.png")):
        write_image(root / "benchmark" / SET / "HR" / path.name, read_image(path)[60:156, 40:160])
    return root


@pytest.fixture(scope="module")
def sweep(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("pictures_sweep")
    nets = {
        (act, seed): _write_job(root / f"{act}-s{seed}", data_root, act, seed)
        for act, seed in itertools.product(LEVELS, (0, 1))
    }
    return root, nets


def _whole(net: torch.nn.Module, lr: np.ndarray) -> torch.Tensor:
    from src.data.datasets import to_tensor
    from src.models.inference import super_resolve

    return super_resolve(net, to_tensor(lr, 3)[None], SCALE)


def _shown_seed(root: Path, act: str) -> int:
    """The lower of two seeds by set PSNR-Y, from results.json (the median rule for two runs)."""
    values = {s: read_results(RunDir(root / f"{act}-s{s}").results)["metrics"][SET]["psnr_y"] for s in (0, 1)}
    return min(values, key=lambda s: (values[s], s))


def _check_tiles_are_network_outputs(comparisons: list[Comparison], root: Path, nets: dict, data_root: Path):
    from src.data.datasets import load_pairs, to_tensor
    from src.data.layout import set_dirs
    from src.protocol.metrics import quantize, score

    pairs = {p.name: p for p in load_pairs(set_dirs(data_root, SET, SCALE), SCALE)}
    for comparison in comparisons:
        pair = pairs[comparison.image]
        rows, cols = comparison.box.hr(SCALE)
        hr_crop = to_tensor(pair.hr)[None][..., rows, cols]
        tiles = {t.label.split(" (")[0]: t for t in comparison.tiles}
        for act in LEVELS:
            seed = _shown_seed(root, act)
            assert tiles[act].label == f"{act} (seed {seed})"
            out = _whole(nets[(act, seed)], pair.lr)[..., rows, cols]
            expected = quantize(out)[0].permute(1, 2, 0).to(torch.uint8).numpy()
            assert np.abs(tiles[act].pixels.astype(int) - expected.astype(int)).max() <= 1
            values = score(out, hr_crop, 0)
            assert tiles[act].crop_scores["psnr_y"] == pytest.approx(float(values["psnr_y"][0]), abs=0.02)
            image_psnr = read_results(RunDir(root / f"{act}-s{seed}").results)["metrics"][SET]["images"]
            assert tiles[act].image_psnr == image_psnr[comparison.image]["psnr_y"]
        # The positive control: the scaled network's crop is the one furthest from the reference's.
        far = {a: np.abs(tiles[a].pixels.astype(float) - tiles["relu"].pixels).mean() for a in ("lrelu", "mish")}
        assert far["mish"] > 3 * far["lrelu"]


@pytest.mark.slow
def test_crops_are_the_networks_outputs_and_the_strong_level_is_picked(sweep, data_root: Path) -> None:
    root, nets = sweep
    records = records_from_dirs([root])
    comparisons = group_comparisons(records, "relu", 2, 48, None, "psnr_y")
    # Images ranked by the range of level means (from results.json alone): the widest first, the narrowest last.
    jobs = {(a, s): read_results(RunDir(root / f"{a}-s{s}").results) for a, s in nets}
    names = list(jobs[("relu", 0)]["metrics"][SET]["images"])

    def mean_delta(act: str, image: str) -> float:
        return np.mean([jobs[(act, s)]["metrics"][SET]["images"][image]["psnr_y"]
                        - jobs[("relu", s)]["metrics"][SET]["images"][image]["psnr_y"] for s in (0, 1)])  # fmt: skip

    spread = {i: np.ptp([0.0, mean_delta("lrelu", i), mean_delta("mish", i)]) for i in names}
    ranked = sorted(names, key=lambda i: -spread[i])
    assert [c.image for c in comparisons] == [ranked[0], ranked[1], ranked[-1]]
    assert "(mish)" in comparisons[0].reason and "differ most" in comparisons[0].reason
    assert "differ least" in comparisons[-1].reason
    _check_tiles_are_network_outputs(comparisons, root, nets, data_root)


@pytest.mark.slow
def test_crops_run_with_context_equal_the_whole_image(sweep, data_root: Path, monkeypatch) -> None:
    """Networks too large to run whole are run on candidate windows plus their receptive radius: same pixels."""
    root, nets = sweep
    monkeypatch.setattr(qualitative, "WHOLE_BUDGET", 0)
    comparisons = group_comparisons(records_from_dirs([root]), "relu", 1, 40, None, "psnr_y")
    _check_tiles_are_network_outputs(comparisons, root, nets, data_root)


class _Upsample(torch.nn.Module):
    """Nearest upsampling; with `bump`, 40 grey levels added wherever the input is 200 or more (a marker planted
    in one place): an output that differs from the other level's there only, wherever the network is run from."""

    def __init__(self, bump: bool):
        super().__init__()
        self.bump = bump

    def receptive_radius(self) -> int:
        return 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bump:
            x = x + 40.0 * (x >= 200)
        return torch.nn.functional.interpolate(x, scale_factor=SCALE, mode="nearest")


@pytest.mark.parametrize("budget", [qualitative.WHOLE_BUDGET, 0])
def test_the_window_is_where_the_outputs_differ(budget: float, monkeypatch) -> None:
    """Searched over every window (small networks) or over candidate windows run with context (large ones)."""
    monkeypatch.setattr(qualitative, "WHOLE_BUDGET", budget)
    rng = np.random.default_rng(0)
    lr = torch.from_numpy(rng.uniform(0, 150, (1, 3, 96, 96))).float()
    lr[..., 40:50, 40:50] = 200.0
    hr = torch.nn.functional.interpolate(lr, scale_factor=SCALE, mode="bilinear")
    nets = {"a": _Upsample(False), "b": _Upsample(True)}
    box, crops = locate(nets, lr, hr, hr + torch.from_numpy(rng.normal(0, 5, hr.shape)).float(), SCALE, 16, 200)
    assert box.top < 50 and box.top + box.size > 40 and box.left < 50 and box.left + box.size > 40
    if budget:  # every window searched: the one holding the whole marker
        assert box.top <= 40 and box.top + box.size >= 50 and box.left <= 40 and box.left + box.size >= 50
    assert float((crops["b"] - crops["a"]).abs().max()) == pytest.approx(40.0)


@pytest.mark.slow
def test_write_qualitative_and_per_image_on_job_folders(sweep, tmp_path: Path) -> None:
    root, _ = sweep
    records = records_from_dirs([root])
    written = write_qualitative(records, "relu", tmp_path, n_differ=1, crop=32)
    written += write_per_image(records, "relu", tmp_path)
    assert [p.name for p in written] == [f"qualitative_x2_{SET}.png", "per_image.csv", "per_image_x2.png"]
    assert all(p.stat().st_size > 10_000 for p in written if p.suffix == ".png")


@pytest.mark.slow
def test_a_checkpoint_of_another_step_is_refused(sweep, tmp_path: Path) -> None:
    import shutil

    root, _ = sweep
    job = tmp_path / "relu-s0"
    shutil.copytree(root / "relu-s0", job)
    results = read_results(RunDir(job).results)
    write_results(job, {**results, "train": {"steps": STEPS + 100}})
    with pytest.raises(UserError, match=r"step 8 but .* scored step 108"):
        qualitative.load_network(job)


def _tile(label: str, rng: np.random.Generator) -> Tile:
    pixels = rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)
    return Tile(label, pixels, rng.uniform(0, 20, (48, 48)), {"psnr_y": 30.0, "ssim_y": 0.9}, 31.0)


def test_figure_stays_readable_with_eight_levels() -> None:
    from src.report.qualitative_figure import MAX_COLUMNS, TILE_INCHES, figure

    rng = np.random.default_rng(0)
    levels = ["relu", "lrelu(0.2)", "swish", "mish", "gelu", "elu", "prelu", "identity"]
    comparisons = [
        Comparison(4, "Urban100", f"img{i:03d}", "levels differ most", Box(4, 4, 12),
                   rng.integers(0, 255, (96, 128, 3), dtype=np.uint8),
                   [Tile("HR", rng.integers(0, 255, (48, 48, 3), dtype=np.uint8)), _tile("Bicubic", rng),
                    *(_tile(f"{lv} (seed 1)", rng) for lv in levels)])
        for i in range(3)
    ]  # fmt: skip
    fig = figure(comparisons, "relu")
    fig.canvas.draw()
    width, height = fig.get_size_inches()
    assert width <= MAX_COLUMNS * TILE_INCHES + 0.01 and height <= 30
    renderer = fig.canvas.get_renderer()
    shown = [a for sub in fig.subfigs for a in sub.axes if a.images or a.texts]
    titles = {a.get_title().split("\n")[0] for a in shown}
    assert {f"{lv} (seed 1)" for lv in levels} <= titles
    boxes = [a.get_tightbbox(renderer) for a in shown]
    assert not [(i, j) for i, j in itertools.combinations(range(len(boxes)), 2) if boxes[i].overlaps(boxes[j])]


def test_a_crop_with_the_receptive_radius_is_the_trained_networks_whole_output(monkeypatch) -> None:
    """Trained weights use their whole receptive field (random ones reach a few pixels): the crop run with the
    radius as context equals the whole-image output, and without context it does not (the check can fail)."""
    from src.models.inference import super_resolve
    from tests.trained import photos, trained_edsr

    net = trained_edsr(SCALE)
    lr = photos()[0][None, :, :96, :96]
    whole = super_resolve(net, lr, SCALE)
    box = Box(30, 40, 24)
    rows, cols = box.hr(SCALE)
    crop = qualitative.upscale_box(net, lr, box, SCALE)
    assert (crop.round() - whole[..., rows, cols].round()).abs().max() <= 1
    monkeypatch.setattr(net, "receptive_radius", lambda: 0)
    blind = qualitative.upscale_box(net, lr, box, SCALE)
    assert (blind.round() - whole[..., rows, cols].round()).abs().max() > 5


@pytest.mark.slow
def test_a_trained_sweep_gets_both_figures(data_root: Path, tmp_path: Path) -> None:
    """src.train's own job folders (2 activations x 2 seeds at x2, the smoke schedule): per-image rows for every
    image and seed, and a qualitative figure from the checkpoints the jobs left."""
    import csv

    from src.report.collect import collect
    from src.report.factor import Factor
    from src.report.pictures import write_pictures
    from src.report.summary import summarize
    from tests.helpers import run_cli

    out = tmp_path / "sweep"
    proc = run_cli(
        "src.train", "-m", "activation=relu,identity", "seed=0,1", f"scale={SCALE}", "experiment=smoke",
        "logger=csv", f"paths.data_dir={data_root}", f"data.test_sets=[{SET}]", f"hydra.sweep.dir={out}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = collect([out])
    summary = summarize(jobs, "psnr_y", "ssim_y", Factor())
    written, messages = write_pictures(summary, jobs, out / "report", qualitative=True)
    assert messages == []
    assert [p.name for p in written] == ["per_image.csv", f"per_image_x{SCALE}.png", f"qualitative_x{SCALE}_{SET}.png"]
    rows = list(csv.DictReader(written[0].open()))
    assert len(rows) == 5 and all(r["level"] == "identity" and r["seed_0"] and r["seed_1"] for r in rows)

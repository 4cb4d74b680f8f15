"""The cross-architecture summary: seed-level ΔPSNR vs ReLU per model, pooled over models with heterogeneity,
files, and the sweep."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import stats

from src.report import architectures
from src.report.collect import Job
from src.report.pooling import pool
from src.report.stats import paired_t
from src.report.summary import summarize
from tests.helpers import compose_config, run_cli, run_tiny_sweep


def _job(model: str, act: str, seed: int, psnr: dict[str, float], status: str = "finished") -> Job:
    metrics = {name: {"psnr_y": value, "ssim_y": 0.9} for name, value in psnr.items()}
    return Job(Path(f"/{model}-{act}-{seed}"), status, model, act, {}, 2, seed, metrics)


def model_deltas(jobs: list[Job]) -> list[architectures.ModelDelta]:
    return architectures.model_deltas(summarize(jobs))


def report(jobs: list[Job], out: Path) -> list[Path]:
    return architectures.report(summarize(jobs), out)[1]


def _grid(shift: dict[str, float]) -> list[Job]:
    """ReLU at 30 + seed on Set5 and 28 + seed on Set14; mish moved by `shift[model]` + 0.01 x seed on Set5 only."""
    jobs = []
    for model, delta in shift.items():
        for seed in range(3):
            jobs.append(_job(model, "relu", seed, {"Set5": 30.0 + seed, "Set14": 28.0 + seed}))
            jobs.append(_job(model, "mish", seed, {"Set5": 30.0 + seed + delta + 0.01 * seed, "Set14": 28.0 + seed}))
    return jobs


def test_each_seed_averages_its_differences_over_the_sets_then_the_t_runs_over_seeds() -> None:
    deltas = model_deltas(_grid({"rcan": 0.1, "rdn": 0.2}))
    assert [(d.model, d.activation, d.datasets) for d in deltas] == [
        ("rcan", "mish", ("Set5", "Set14")),
        ("rdn", "mish", ("Set5", "Set14")),
    ]
    for d, shift in zip(deltas, (0.1, 0.2), strict=True):
        expected = paired_t([(shift + 0.01 * seed) / 2 for seed in range(3)])
        assert d.comparison.n == 3
        assert d.comparison.mean == pytest.approx(expected.mean)
        assert (d.comparison.ci_low, d.comparison.ci_high) == pytest.approx((expected.ci_low, expected.ci_high))
    (row,) = architectures.pooled_rows(deltas, margin=0.05)
    assert row.pooled is not None and row.pooled.k == 2
    assert min(d.comparison.mean for d in deltas) < row.pooled.mean < max(d.comparison.mean for d in deltas)


def test_pooling_is_dersimonian_laird_with_a_hartung_knapp_interval() -> None:
    y, v = np.array([0.10, 0.02, 0.05]), np.array([0.0004, 0.0009, 0.0001])
    w = 1 / v
    fixed = np.sum(w * y) / np.sum(w)
    q = np.sum(w * (y - fixed) ** 2)
    tau2 = max(0.0, (q - 2) / (np.sum(w) - np.sum(w**2) / np.sum(w)))
    ws = 1 / (v + tau2)
    mean = np.sum(ws * y) / np.sum(ws)
    se = np.sqrt(max(1.0, np.sum(ws * (y - mean) ** 2) / 2) / np.sum(ws))
    pooled = pool(y, v)
    assert (pooled.q, pooled.tau2, pooled.mean, pooled.se) == pytest.approx((q, tau2, mean, se))
    assert pooled.i2 == pytest.approx(max(0.0, (q - 2) / q))
    assert pooled.ci_high - pooled.mean == pytest.approx(stats.t.ppf(0.975, 2) * se)
    assert pool([0.1], [0.01]) is None and pool([0.1, 0.2], [0.01, 0.0]) is None


def test_pooled_models_rarely_find_an_effect_that_is_not_there() -> None:
    """Three models whose true effects scatter around 0 (heterogeneity) with seed noise: the pooled test keeps
    its level, where "the sign agrees" would be a coin toss and a normal interval far too narrow."""
    rng = np.random.default_rng(0)
    rejections = 0
    for _ in range(2000):
        truth = rng.normal(0.0, 0.02, 3)
        v = np.full(3, 0.02**2 / 4)
        rejections += pool(truth + rng.normal(0.0, np.sqrt(v)), v).p_value < 0.05
    assert rejections / 2000 < 0.07


def test_unfinished_repeated_and_one_sided_runs_are_left_out() -> None:
    jobs = _grid({"edsr": 0.1})
    jobs.append(_job("edsr", "mish", 0, {"Set5": 99.0, "Set14": 99.0}))  # a repeat: the first run counts
    jobs.append(_job("edsr", "mish", 5, {"Set5": 99.0, "Set14": 99.0}))  # no ReLU of seed 5
    jobs.append(_job("edsr", "relu", 6, {"Set5": 1.0}, status="diverged"))
    jobs.append(_job("edsr", "mish", 6, {"Set5": 99.0, "Set14": 99.0}))
    jobs[0] = _job("edsr", "relu", 0, {"Set5": 30.0, "Set14": 28.0, "B100": 27.0})  # B100 only on one side
    (delta,) = model_deltas(jobs)
    assert delta.comparison.n == 3 and delta.datasets == ("Set5", "Set14")
    assert delta.comparison.mean == pytest.approx(sum((0.1 + 0.01 * s) / 2 for s in range(3)) / 3)


def test_report_writes_the_summary_for_two_models_and_nothing_for_one(tmp_path: Path) -> None:
    assert report(_grid({"edsr": 0.1}), tmp_path / "one") == []
    assert not (tmp_path / "one").exists()
    written = report(_grid({"edsr_baseline": 0.1, "rcan": -0.05}), tmp_path / "two")
    assert [p.name for p in written] == ["architectures.md", "architectures.csv", "delta_psnr_models.png"]
    text = written[0].read_text()
    assert "| Level | edsr_baseline | rcan | Pooled | Q, I² | models |" in text
    assert "| Mish | +0.055 [" in text and "I²=" in text
    rows = list(csv.DictReader(written[1].open()))
    assert [(r["model"], r["n_seeds"]) for r in rows] == [("edsr_baseline", "3"), ("rcan", "3"), ("pooled", "")]
    assert rows[0]["verdict"] in ("better", "worse", "equivalent", "undecided")
    with Image.open(written[2]) as image:
        assert image.width > 300 and image.height > 200


def test_every_model_composes_with_every_activation_and_scale() -> None:
    for model in ("edsr_baseline", "rcan", "rdn", "rcan_small", "rdn_small"):
        for act in ("relu", "lrelu", "swish", "mish"):
            cfg = compose_config("train", f"model={model}", f"activation={act}", "scale=4", "paths.output_dir=/tmp/x")
            assert cfg.model.name == model and cfg.model.net.act == act and cfg.activation.scope == "blocks"
    cfg = compose_config("train", "model=rcan", "activation=mish", "activation.scope=all", "paths.output_dir=/tmp/x")
    assert cfg.model.net.act_scope == "all"
    assert compose_config("train", "activation=lrelu_0.2", "paths.output_dir=/tmp/x").activation.scope == "blocks"


def test_the_architectures_sweep_runs_each_model_with_its_schedule() -> None:
    import yaml

    from tests.helpers import PROJECT_ROOT

    spec = yaml.safe_load((PROJECT_ROOT / "sweeps" / "architectures.yaml").read_text())
    params = spec["hydra"]["sweeper"]["params"]
    assert params["experiment"] == "paper,rcan_paper,rdn_paper"
    assert len(params["activation"].split(",")) * len(params["scale"].split(",")) * len(params["seed"].split(",")) == 24
    args = ("--config-dir", "sweeps", "--config-name", "architectures", "experiment=rdn_paper", "--cfg", "job")
    proc = run_cli("src.train", *args, "--resolve")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["model"]["name"] == "rdn" and cfg["data"]["patch_size"] == 32 and cfg["init_from"] is None


@pytest.mark.parametrize(
    ("experiment", "model", "patch", "lr_halvings"), [("rcan_paper", "rcan", 48, 4), ("rdn_paper", "rdn", 32, 4)]
)
def test_the_published_schedules(experiment: str, model: str, patch: int, lr_halvings: int) -> None:
    cfg = compose_config("train", f"experiment={experiment}", "paths.output_dir=/tmp/x")
    assert cfg.model.name == model and cfg.data.patch_size == patch and cfg.optim.lr == 1e-4
    assert list(cfg.optim.milestones) == [200_000 * (i + 1) for i in range(lr_halvings)]
    assert cfg.optim.gamma == 0.5 and cfg.data.batch_size == 16 and cfg.data.steps_per_epoch == 1000


@pytest.mark.slow
def test_a_sweep_over_three_architectures_reports_across_them(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_tiny_sweep(
        out, data_root, "model=edsr_baseline,rcan_small,rdn_small", "activation=relu,mish", "scale=2", "seed=0,1"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = [json.loads(p.read_text()) for p in out.glob("*/results.json")]
    assert sorted((j["model"], j["activation"], j["seed"]) for j in jobs) == sorted(
        (m, a, s) for m in ("edsr_baseline", "rcan_small", "rdn_small") for a in ("relu", "mish") for s in (0, 1)
    )
    assert all(j["status"] == "finished" and j["name"].startswith(j["model"]) for j in jobs)

    proc = run_cli("src.report", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = (out / "report" / "architectures.md").read_text()
    assert summary in proc.stdout
    assert "| Level | edsr_baseline | rcan_small | rdn_small | Pooled | Q, I² | models |" in summary
    mish = next(line for line in summary.splitlines() if line.startswith("| Mish |"))
    assert mish.count("(n=2)") == 3
    assert (out / "report" / "delta_psnr_models.png").is_file()
    # One Table 1 section per model, as for EDSR alone.
    table = (out / "report" / "table1.md").read_text()
    assert all(model in table for model in ("edsr_baseline", "rcan_small", "rdn_small"))


@pytest.mark.slow
@pytest.mark.parametrize("model", ["rcan", "rdn"])
def test_evaluate_scores_an_official_layout_file_as_edsr_pytorchs_network(
    model: str, benchmark_dir: Path, tmp_path: Path
) -> None:
    import torch
    from hydra.utils import instantiate

    from src.contracts.identity import job_identity
    from src.data.datasets import load_pairs, to_tensor
    from src.data.layout import set_dirs
    from src.evaluate import evaluate
    from src.models.build import build_model
    from src.protocol.metrics import score, shave_for, summarize
    from tests import test_rcan, test_rdn

    # The paper-size preset takes a file of the paper's size (the layout of RCAN_BIX2.pt; tested key for key
    # against EDSR-PyTorch's in test_rcan.py / test_rdn.py).
    cfg = compose_config("evaluate", f"model={model}", f"ckpt={tmp_path / 'full.pt'}", "paths.output_dir=/x")
    torch.save(instantiate(cfg.model.net).state_dict(), tmp_path / "full.pt")
    assert not build_model(cfg, job_identity(cfg))[0].training

    # The small preset, end to end: a seeded file in the official layout scores as EDSR-PyTorch's network.
    if model == "rcan":
        size = {"n_resgroups": 2, "n_resblocks": 2, "n_feats": 16, "reduction": 4}
        state = test_rcan.official_state(2, seed=4, **size)
        forward = lambda x: test_rcan.rcan_pytorch_forward(state, x, 2, 2)  # noqa: E731
    else:
        state = test_rdn.official_state(2, seed=4, D=2, C=3, G=8, G0=16)
        forward = lambda x: test_rdn.rdn_pytorch_forward(state, x, 2, 3)  # noqa: E731
    torch.save(state, tmp_path / "small.pt")
    out = tmp_path / "eval"
    overrides = [f"model={model}_small", "scale=2", f"ckpt={tmp_path / 'small.pt'}", "data.test_sets=[Set5]"]
    results = evaluate(
        compose_config("evaluate", *overrides, f"paths.data_dir={benchmark_dir.parent}", f"paths.output_dir={out}")
    )
    images = {}
    with torch.no_grad():
        for pair in load_pairs(set_dirs(benchmark_dir.parent, "Set5", 2), 2):
            sr = forward(to_tensor(pair.lr, 3)[None])
            scores = score(sr, to_tensor(pair.hr)[None], shave_for("Set5", 2))
            images[pair.name] = {k: float(v) for k, v in scores.items()}
    expected = summarize(images)
    assert results["model"] == f"{model}_small"
    assert results["metrics"]["Set5"]["psnr_y"] == pytest.approx(expected["psnr_y"], abs=0.01)
    assert results["metrics"]["Set5"]["ssim_y"] == pytest.approx(expected["ssim_y"], abs=1e-4)

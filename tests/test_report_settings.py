"""Like with like: jobs that differ in anything but the factor and the seed are not pooled or compared, whatever
the factor (`--factor`); and the report through results.json files and the CLI on a simulated sweep with a
known effect."""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from src.report.collect import collect, identity_of
from tests.test_report import IMAGES, make_job, relu_image, run_main, write_job


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


def trained_job(act: str, seed: int, world_size: int = 1, **extra: Any) -> dict[str, Any]:
    """A results.json of a training job: the config sections the report reads for the setting."""
    images = {"Set5": {name: relu_image(2, "Set5", seed, i) for i, name in enumerate(IMAGES)}}
    job = make_job(act, 2, seed, images)
    job["world_size"] = world_size
    job["config"] |= {
        "model": {"name": "edsr_baseline", "net": {"n_resblocks": 16, "n_feats": 64, "act": act, "scale": 2}},
        "data": {"batch_size": 16, "patch_size": 48},
        "trainer": {"max_steps": 300000},
        "fast": {"precision": "bf16-mixed"},
        "init_from": None,
    }
    return job | extra


def test_identity_reads_results_first_then_the_config_without_its_resolved_copies() -> None:
    old = trained_job("relu", 0, world_size=2)
    identity = identity_of(old)
    # The resolved copies of the activation and the scale (model.net.act, model.net.scale) are not facts.
    assert "model.net.act" not in identity and "model.net.scale" not in identity
    assert identity["model.net.n_resblocks"] == 16 and identity["world_size"] == 2
    assert identity["activation.name"] == "relu" and identity["seed"] == 0
    written = {"activation.name": "mish", "seed": 3, "optim.lr": 0.001}
    assert identity_of(old | {"identity": written}) == written | {"world_size": 2}


def test_an_activation_on_four_devices_is_not_compared_with_relu_on_one(tmp_path: Path) -> None:
    for seed in range(3):
        write_job(tmp_path, f"relu{seed}", trained_job("relu", seed))
        write_job(tmp_path, f"mish{seed}", trained_job("mish", seed, world_size=4))
        write_job(tmp_path, f"swish{seed}", trained_job("swish", seed, world_size=4 if seed == 2 else 1))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    # A section per setting, named by the key that differs; nothing of world size 4 is pooled with size 1.
    assert "## Model `edsr_baseline`: world_size=1" in out and "## Model `edsr_baseline`: world_size=4" in out
    assert "not compared with ReLU: no relu run in this setting; the relu runs differ: world_size 4 vs 1" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    mish = next(r for r in rows if r["activation"] == "mish" and r["dataset"] == "Set5")
    assert mish["setting"] == "world_size=4" and mish["n_seeds"] == "3" and mish["dpsnr_vs_reference"] == ""
    assert "world_size 4 vs 1" in mish["note"]
    swish = {r["setting"]: r for r in rows if r["activation"] == "swish" and r["dataset"] == "Set5"}
    assert swish["world_size=1"]["n_seeds"] == swish["world_size=1"]["n_pairs"] == "2"
    assert swish["world_size=4"]["n_seeds"] == "1" and swish["world_size=4"]["n_pairs"] == ""


def test_same_seed_in_two_settings_is_not_a_duplicate(tmp_path: Path) -> None:
    write_job(tmp_path, "a", trained_job("relu", 0))
    write_job(tmp_path, "b", trained_job("relu", 0, precision="32-true"))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert "ignored duplicate" not in out
    # The precision a job trained in is the fact its config's fast.precision resolved to.
    assert "## Model `edsr_baseline`: fast.precision=32-true" in out and "fast.precision=bf16-mixed" in out
    assert {j.identity["fast.precision"] for j in collect([tmp_path])} == {"32-true", "bf16-mixed"}


def lr_sweep(root: Path) -> None:
    """activation=relu,mish x optim.lr=1e-3,1e-2 x seed=0,1: mish is +0.1 dB at lr 1e-3 and -0.1 at 1e-2; the
    larger lr costs everyone 0.5 dB."""
    for act, lr, seed in itertools.product(("relu", "mish"), (1e-3, 1e-2), (0, 1)):
        shift = (0.1 if lr == 1e-3 else -0.1) * (act == "mish") - (0.5 if lr == 1e-2 else 0.0)
        images = {
            "Set5": {
                name: tuple(np.add(relu_image(2, "Set5", seed, i), (shift + 0.01 * i * seed, 0)))
                for i, name in enumerate(IMAGES)
            }
        }
        job = trained_job(act, seed)
        job["metrics"] = make_job(act, 2, seed, images)["metrics"]
        job["config"]["optim"] = {"lr": lr, "milestones": [200000]}
        write_job(root, f"{act}_lr{lr}_s{seed}", job)


def test_the_default_report_never_pools_two_learning_rates(tmp_path: Path) -> None:
    lr_sweep(tmp_path)
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0 and "ignored duplicate" not in out
    assert "## Model `edsr_baseline`: optim.lr=0.001" in out and "## Model `edsr_baseline`: optim.lr=0.01" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    mish = {r["setting"]: float(r["dpsnr_vs_reference"]) for r in rows if r["activation"] == "mish"}
    assert mish == {"optim.lr=0.001": pytest.approx(0.1, abs=0.01), "optim.lr=0.01": pytest.approx(-0.1, abs=0.01)}


def test_any_config_key_can_be_the_factor(tmp_path: Path) -> None:
    lr_sweep(tmp_path)
    code, out, _ = run_main([str(tmp_path), "--factor", "optim.lr", "--reference", "1e-3"])
    assert code == 0
    assert "# Table 1: optim.lr" in out
    # Within each activation, the lrs compared: a section per activation, columns named key=value.
    assert "## Model `edsr_baseline`: activation.name=mish" in out
    assert "| Scale | Set | optim.lr=0.001 | optim.lr=0.01 |" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    assert list(rows[0])[:5] == ["model", "setting", "scale", "dataset", "optim.lr"]
    lr = {r["setting"]: float(r["dpsnr_vs_reference"]) for r in rows if r["optim.lr"] == "optim.lr=0.01"}
    assert lr == {"activation.name=mish": pytest.approx(-0.7, abs=0.01), "activation.name=relu": pytest.approx(-0.5)}
    assert all(r["verdict"] == "worse" for r in rows if r["optim.lr"] == "optim.lr=0.01")


def test_without_relu_runs_the_default_report_shows_the_activations_uncompared(tmp_path: Path) -> None:
    write_job(tmp_path, "mish0", trained_job("mish", 0))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0 and "No ReLU runs in this section" in out
    code, _, err = run_main([str(tmp_path), "--reference", "swish"])
    assert code == 2 and err.startswith("error: --reference swish: no job has activation at that value")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--factor", "optim.lr"], "--factor optim.lr needs --reference VALUE"),
        (["--factor", "optim.lrr", "--reference", "1"], "--factor optim.lrr: no job's config has that key"),
        (["--factor", "optim.lr", "--reference", "5"], "--reference 5: no job has optim.lr at that value"),
    ],
)
def test_a_factor_that_is_not_there_is_one_line(tmp_path: Path, argv: list[str], message: str) -> None:
    lr_sweep(tmp_path)
    code, out, err = run_main([str(tmp_path), *argv])
    assert (code, out) == (2, "") and err.startswith(f"error: {message}") and len(err.strip().splitlines()) == 1


def sweep_with_known_effect(root: Path, effects: dict[str, float], seeds: int = 5) -> None:
    """results.json files with per-image values: image difficulty + seed effect + effect + run offset + noise."""
    rng = np.random.default_rng(7)
    difficulty = {"Set14": rng.normal(30.0, 3.0, 14), "B100": rng.normal(29.0, 3.0, 30)}
    seed_effect = rng.normal(0.0, 0.05, seeds)
    for act in ("relu", *effects):
        for seed in range(seeds):
            offset = rng.normal(0.0, 0.03)
            images = {}
            for name, base in difficulty.items():
                psnr = base + seed_effect[seed] + effects.get(act, 0.0) + offset + rng.normal(0.0, 0.05, base.size)
                images[name] = {f"im{i}": (float(v), 0.85 + 0.001 * float(v - 30.0)) for i, v in enumerate(psnr)}
            metrics = make_job(act, 2, seed, images)["metrics"]
            write_job(root, f"{act}_{seed}", trained_job(act, seed) | {"metrics": metrics})


@pytest.mark.slow
def test_end_to_end_a_known_effect_is_found_and_no_effect_is_not(tmp_path: Path) -> None:
    sweep_with_known_effect(tmp_path, {"swish": 0.0, "mish": 0.10}, seeds=8)
    code, out, _ = run_main([str(tmp_path), "--plan", "0.02"])
    assert code == 0
    rows = read_csv(tmp_path / "report" / "table1.csv")
    for row in (r for r in rows if r["activation"] == "mish"):
        assert row["n_pairs"] == "8"
        assert float(row["dpsnr_ci_low"]) > 0 and float(row["p_value"]) < 0.05
        assert float(row["dpsnr_vs_reference"]) == pytest.approx(0.10, abs=0.03)
    for row in (r for r in rows if r["activation"] == "swish"):
        assert float(row["dpsnr_ci_low"]) <= 0 <= float(row["dpsnr_ci_high"]) and float(row["p_adj"]) >= 0.05
    # Stars on mish only, the primary endpoint first, and a plan from the observed spread.
    primary = next(line for line in out.splitlines() if line.startswith("| x2 | Set14, B100 |"))
    assert primary.split(" | ")[3].count("]*") == 1 and "]*" not in primary.split(" | ")[2]
    plan = next(line for line in out.splitlines() if "| primary, pooled over levels |" in line)
    assert int(plan.split(" | ")[8].replace(",", "")) > 8
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*/results.json")]
    assert len(results) == 24

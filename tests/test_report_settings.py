"""Like with like: jobs that differ in anything but the activation and the seed are not pooled or compared;
and the report through results.json files and the CLI on a simulated sweep with a known effect."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from src.report.collect import collect, job_setting, setting_difference
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


def test_setting_reads_results_first_and_falls_back_to_the_config() -> None:
    old = trained_job("relu", 0, world_size=2)
    setting = job_setting(old, old["config"])
    assert setting == {
        "model.n_feats": 64,
        "model.n_resblocks": 16,
        "steps": 300000,
        "batch": 32,  # per-device batch_size x world size, as older files meant it
        "world_size": 2,
        "patch": 48,
        "precision": "bf16-mixed",
        "init_from": None,
    }
    new = trained_job("mish", 0, world_size=2, precision="32-true", batch={"global": 16, "per_device": 8})
    assert job_setting(new, new["config"]) == setting | {"batch": 16, "precision": "32-true"}
    assert setting_difference({"world_size": 4, "patch": 48}, {"world_size": 1, "patch": 48}) == (
        "world_size 4",
        "world_size 1",
    )


def test_an_activation_on_four_devices_is_not_compared_with_relu_on_one(tmp_path: Path) -> None:
    for seed in range(3):
        write_job(tmp_path, f"relu{seed}", trained_job("relu", seed))
        write_job(tmp_path, f"mish{seed}", trained_job("mish", seed, world_size=4))
        write_job(tmp_path, f"swish{seed}", trained_job("swish", seed, world_size=4 if seed == 2 else 1))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    # Global batch 16 x 4 under the old per-device meaning: the batch differs too, and is named.
    assert "mish: batch 64, world_size 4 vs relu: batch 16, world_size 1" in out
    assert "not compared with ReLU: mish: batch 64, world_size 4 vs relu: batch 16, world_size 1" in out
    rows = read_csv(tmp_path / "report" / "table1.csv")
    mish = next(r for r in rows if r["activation"] == "mish" and r["dataset"] == "Set5")
    assert mish["n_seeds"] == "3" and mish["dpsnr_vs_reference"] == "" and "world_size 4" in mish["note"]
    # One swish seed on four devices is kept out of the swish cell, with the reason.
    swish = next(r for r in rows if r["activation"] == "swish" and r["dataset"] == "Set5")
    assert swish["n_seeds"] == swish["n_pairs"] == "2"
    assert "other setting (1/3 seeds)" in out
    assert "not pooled: swish: batch 64, world_size 4 vs the other swish runs: batch 16, world_size 1" in out


def test_same_seed_in_two_settings_is_not_a_duplicate(tmp_path: Path) -> None:
    write_job(tmp_path, "a", trained_job("relu", 0))
    write_job(tmp_path, "b", trained_job("relu", 0, precision="32-true"))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert "ignored duplicate" not in out and "other setting (1/2 seeds)" in out
    assert "precision 32-true vs the other relu runs: precision bf16-mixed" in out
    assert {j.setting["precision"] for j in collect([tmp_path])} == {"32-true", "bf16-mixed"}


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
    plan = next(line for line in out.splitlines() if "| primary, pooled over activations |" in line)
    assert int(plan.split(" | ")[5].replace(",", "")) > 8
    results = [json.loads(p.read_text()) for p in tmp_path.glob("*/results.json")]
    assert len(results) == 24

"""Damaged records never crash the report or the dashboard and never vanish: every job left out is named with
why; a job scored under another checkpoint's identity is not filed under the one it asked for; a report warns
when seeds were added after it; and the primary endpoint per seed is there for a sequential study."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from src.report.collect import collect
from src.report.factor import Factor
from src.report.summary import primary_differences
from tests.test_report import activation_images, make_job, run_main, write_job

# psnr_y values a damaged results.json may hold, and the text that names each.
MALFORMED = {
    "nan": (float("nan"), "malformed psnr_y on Set5: nan"),
    "text": ("abc", "malformed psnr_y on Set5: 'abc'"),
    "huge": (1e308, "malformed psnr_y on Set5: 1e+308"),
    "integer": (10**400, "malformed psnr_y on Set5: 1" + "0" * 20 + "..."),
}


def good_sweep(root: Path, seeds: range = range(3)) -> None:
    for seed in seeds:
        for act in ("relu", "mish"):
            # The fixture has two seeds' worth of offsets; later seeds reuse them.
            write_job(root, f"{act}{seed}", make_job(act, 2, seed, activation_images(act, 2, seed % 2)))


def test_malformed_metrics_are_named_and_never_averaged_printed_or_bold(tmp_path: Path) -> None:
    good_sweep(tmp_path)
    for i, (name, (value, _)) in enumerate(MALFORMED.items()):
        job = make_job("mish", 2, 10 + i, activation_images("mish", 2, 0))
        job["metrics"]["Set5"]["psnr_y"] = value
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(job))  # NaN and the 400-digit integer as JSON
    write_job(tmp_path, "no_metrics", {k: v for k, v in make_job("mish", 2, 20, {}).items() if k != "metrics"})
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    for name, (_, why) in MALFORMED.items():
        assert f"{tmp_path / name} (activation=mish" in out and why in out
    assert f"{tmp_path / 'no_metrics'} (activation=mish, scale=2, seed=20): no metrics in results.json" in out
    assert "malformed (5/8 seeds)" in out
    assert not re.search(r"\d{30}", out)  # no 300-digit number anywhere
    row = next(line for line in out.splitlines() if line.startswith("| x2 | Set5 |") and "**" in line)
    # The best PSNR of the row is ReLU's, not a malformed 1e308.
    assert row.split(" | ")[2].startswith("**38.") and "**" not in row.split(" | ")[3].split(" / ")[0]


def test_no_usable_run_names_the_jobs_and_exits_2(tmp_path: Path) -> None:
    job = make_job("relu", 2, 0, activation_images("relu", 2, 0))
    job["metrics"]["Set5"]["psnr_y"] = "abc"
    write_job(tmp_path, "relu0", job)
    code, out, err = run_main([str(tmp_path)])
    assert (code, out) == (2, "") and len(err.strip().splitlines()) == 1
    assert err.startswith("error: no usable run under") and "malformed psnr_y on Set5: 'abc'" in err


def test_an_evaluation_under_another_checkpoint_is_not_filed_under_the_activation_it_asked_for(
    tmp_path: Path,
) -> None:
    good_sweep(tmp_path)
    job = make_job("mish", 2, 7, activation_images("relu", 2, 0))
    job["checkpoint_identity"] = {"model": "edsr_baseline", "activation": "relu", "scale": 2, "seed": 0}
    path = write_job(tmp_path, "mismatched", job)
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert f"other checkpoint, not placed in any table: {path}" in out
    assert "the checkpoint is activation='relu' but the config asks for activation='mish'" in out
    (mish,) = [j for j in collect([tmp_path]) if j.path == path]
    assert mish.status == "other checkpoint"
    # A checkpoint that matches what the evaluation asked for is an ordinary job.
    job["checkpoint_identity"]["activation"] = "mish"
    (path / "results.json").write_text(json.dumps(job))
    assert next(j for j in collect([tmp_path]) if j.path == path).status == "finished"


def test_the_dashboard_leaves_out_a_job_without_metrics_and_says_so(tmp_path: Path) -> None:
    from src.dashboard.sweep import read_sweep

    wandb = {"logger": {"wandb": {"_target_": "lightning.pytorch.loggers.WandbLogger", "project": "p"}}}
    for seed in range(2):
        job = make_job("relu", 2, seed, activation_images("relu", 2, seed)) | {"train": {"steps": 1}}
        job["config"] |= wandb
        if seed == 1:
            del job["metrics"]
        write_job(tmp_path, f"relu{seed}", job)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{")
    sweep = read_sweep(tmp_path)
    assert len(sweep.jobs) == 1 and sweep.test_sets == ("Set14", "Set5")
    assert sorted(sweep.left_out) == [
        f"{tmp_path / 'broken'}: unreadable results.json (Expecting property name enclosed in double quotes: line 1 "
        "column 2 (char 1))",
        f"{tmp_path / 'relu1'}: no metrics in results.json",
    ]


def test_seeds_added_after_a_report_are_warned_about(tmp_path: Path) -> None:
    good_sweep(tmp_path, range(2))
    assert "warning" not in run_main([str(tmp_path)])[1]
    assert "warning" not in run_main([str(tmp_path)])[1]  # the same runs again: nothing new
    good_sweep(tmp_path, range(2, 4))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert out.startswith("> warning: seeds 2, 3 were added after the last report on these runs (4 runs)")
    assert "optional stopping" in (tmp_path / "report" / "table1.md").read_text()


def test_the_primary_endpoint_per_seed_for_a_sequential_study(tmp_path: Path) -> None:
    good_sweep(tmp_path)
    (endpoint,) = primary_differences(collect([tmp_path]), Factor("activation", "relu"))
    assert (endpoint.scale, endpoint.level, endpoint.reference, endpoint.datasets) == (
        2,
        "mish",
        "relu",
        ("Set5", "Set14"),
    )
    # mish - relu: -0.2 dB on every image at seed 0, -0.1 at seed 1; seed 2 reuses seed 0's offsets.
    assert endpoint.diffs == {0: pytest.approx(-0.2), 1: pytest.approx(-0.1), 2: pytest.approx(-0.2)}

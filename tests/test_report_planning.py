"""`--plan`: seeds needed from the spread a sweep showed, pooled with its degrees of freedom."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from src.report.collect import collect
from src.report.planning import plans, pooled_sd
from src.report.stats import seeds_needed
from src.report.summary import summarize
from tests.test_report import build_sweep, make_job, run_main, write_job


def test_pooled_sd_weights_by_degrees_of_freedom() -> None:
    sd, df = pooled_sd([(3, 0.02), (5, 0.04), (1, 9.0), (4, math.nan)])
    assert df == 2 + 4
    assert sd == pytest.approx(math.sqrt((2 * 0.02**2 + 4 * 0.04**2) / 6))
    assert pooled_sd([(1, 0.1)]) == (pytest.approx(math.nan, nan_ok=True), 0)


def test_plan_uses_the_paired_spread(tmp_path: Path) -> None:
    summary = summarize(collect([build_sweep(tmp_path, with_history=False)]))
    rows = {(p.scale, p.endpoint): p for p in plans(summary, 0.02)}
    mish = rows[(2, "primary, Mish")]
    # mish - relu per seed is -0.2 and -0.1 on both sets: the per-seed averages have SD 0.0707 on 1 df.
    assert (mish.sd, mish.df) == (pytest.approx(np.std([-0.2, -0.1], ddof=1)), 1)
    assert mish.seeds == seeds_needed(0.02, mish.sd) and mish.seeds_family >= mish.seeds
    assert (2, "primary, LeakyReLU") not in rows  # equal differences: no spread to plan from


def test_a_relu_only_pilot_plans_from_its_seed_spread(tmp_path: Path) -> None:
    values = [33.55, 33.50, 33.59]
    for seed, value in enumerate(values):
        write_job(tmp_path, f"relu{seed}", make_job("relu", 2, seed, {"Photos": {"a": (value, 0.9)}}))
    code, out, _ = run_main([str(tmp_path), "--plan", "0.02"])
    assert code == 0
    sd = np.std(values, ddof=1) * math.sqrt(2)
    row = next(line for line in out.splitlines() if "from ReLU's seed spread" in line)
    assert f"| {sd:.4f} | 2 | {seeds_needed(0.02, sd):,} |" in row


def test_plan_needs_a_positive_effect(tmp_path: Path) -> None:
    write_job(tmp_path, "relu", make_job("relu", 2, 0, {"Photos": {"a": (33.5, 0.9)}}))
    code, _, err = run_main([str(tmp_path), "--plan", "0"])
    assert code == 2 and err.startswith("error: --plan 0.0: give the effect to detect in dB")

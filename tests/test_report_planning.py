"""`--plan`: seeds needed from the spread a sweep showed, pooled with its degrees of freedom."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from src.report.collect import collect
from src.report.planning import plans, pooled_sd, sd_upper_limit
from src.report.stats import paired_t_power, seeds_needed
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
    # The family is the table's: lrelu, swish and mish at two scales, all with a p-value (lrelu's without spread).
    assert mish.family == 6
    assert mish.seeds_estimate == seeds_needed(0.02, mish.sd, 0.05 / 6)
    assert mish.sd_upper == pytest.approx(mish.sd * math.sqrt(1 / stats.chi2.ppf(0.2, 1)))
    assert mish.seeds == seeds_needed(0.02, mish.sd_upper, 0.05 / 6) > mish.seeds_estimate
    assert mish.power_at_upper >= 0.8 and mish.power_at_estimate > mish.power_at_upper
    assert (2, "primary, LeakyReLU") not in rows  # equal differences: no spread to plan from


def test_the_audit_case_plans_for_the_tables_family(tmp_path: Path) -> None:
    """ReLU and Mish at x2 and x4, 3 seeds, one set: the table adjusts over the 2 primary endpoints, so must the
    plan (a per-scale family of 1 gave 16 seeds where the stars need 20)."""
    effect, spread = 0.1, 0.132  # per-seed differences effect + (-spread, 0, +spread): SD = spread on 2 df
    for scale in (2, 4):
        for seed, offset in enumerate((-spread, 0.0, spread)):
            for act, value in (("relu", 30.0 + seed), ("mish", 30.0 + seed + effect + offset)):
                job = make_job(act, scale, seed, {"Set5": {"a": (value, 0.9)}})
                write_job(tmp_path, f"{act}x{scale}s{seed}", job)
    summary = summarize(collect([tmp_path]))
    legend = (run_main([str(tmp_path), "--plan", str(effect)])[1]).split("### Table 1")[0]
    assert "Holm across the 2 primary endpoints" in legend
    mish = next(p for p in plans(summary, effect) if (p.scale, p.endpoint) == (2, "primary, Mish"))
    assert (mish.family, mish.df) == (2, 2) and mish.sd == pytest.approx(spread)
    assert seeds_needed(effect, spread, 0.05) == 16 and mish.seeds_estimate == 20
    # Sized for the 80% upper confidence limit of an SD on 2 df, and honest about the power either way.
    assert mish.sd_upper == pytest.approx(sd_upper_limit(spread, 2)) and mish.seeds > 20
    assert mish.power_at_upper == pytest.approx(paired_t_power(effect, mish.sd_upper, mish.seeds, 0.025))
    assert mish.power_at_upper >= 0.8


def test_a_plan_from_the_upper_limit_keeps_its_power_on_average() -> None:
    """A pilot of 4 seeds (3 df): planning from the point estimate of the SD reaches well under 80% power on
    average over pilots; planning from the 80% upper limit gets back to about 80% or more."""
    rng = np.random.default_rng(1)
    true_sd, effect = 0.05, 0.05
    pilots = true_sd * np.sqrt(rng.chisquare(3, 400) / 3)
    naive = [paired_t_power(effect, true_sd, seeds_needed(effect, sd)) for sd in pilots]
    planned = [paired_t_power(effect, true_sd, seeds_needed(effect, sd_upper_limit(sd, 3))) for sd in pilots]
    assert np.mean(naive) < 0.72 and np.mean(planned) > 0.8


def test_a_relu_only_pilot_plans_from_its_seed_spread(tmp_path: Path) -> None:
    values = [33.55, 33.50, 33.59]
    for seed, value in enumerate(values):
        write_job(tmp_path, f"relu{seed}", make_job("relu", 2, seed, {"Photos": {"a": (value, 0.9)}}))
    code, out, _ = run_main([str(tmp_path), "--plan", "0.02"])
    assert code == 0
    sd = np.std(values, ddof=1) * math.sqrt(2)
    row = next(line for line in out.splitlines() if "from ReLU's seed spread" in line)
    # No comparison yet, so no family: one comparison per scale unless --family says how many.
    assert f"| {sd:.4f} | 2 | 1 | {seeds_needed(0.02, sd):,} |" in row
    code, out, _ = run_main([str(tmp_path), "--plan", "0.02", "--family", "8"])
    row = next(line for line in out.splitlines() if "from ReLU's seed spread" in line)
    assert f"| {sd:.4f} | 2 | 8 | {seeds_needed(0.02, sd, 0.05 / 8):,} |" in row


def test_plan_needs_a_positive_effect(tmp_path: Path) -> None:
    write_job(tmp_path, "relu", make_job("relu", 2, 0, {"Photos": {"a": (33.5, 0.9)}}))
    code, _, err = run_main([str(tmp_path), "--plan", "0"])
    assert code == 2 and err.startswith("error: --plan 0.0: give the effect to detect in dB")

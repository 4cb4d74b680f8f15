"""The report's statistics against numpy and scipy on small known cases, with their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from src.models.activations import formula_values
from src.report.stats import (
    holm,
    mean_std,
    minimum_detectable_effect,
    paired_t,
    paired_t_power,
    relative_change_pct,
    seeds_needed,
)


def test_mean_std_uses_ddof_1_and_leaves_one_value_without_spread() -> None:
    values = [38.1, 38.3, 38.2]
    assert mean_std(values) == pytest.approx((np.mean(values), np.std(values, ddof=1)))
    mean, std = mean_std([38.1])
    assert mean == 38.1 and math.isnan(std)
    assert all(math.isnan(v) for v in mean_std([]))


def test_relative_change_is_the_papers_percent() -> None:
    # The paper's x4 Set5 LeakyReLU vs ReLU.
    assert relative_change_pct(32.55, 32.48) == pytest.approx((32.55 - 32.48) / 32.48 * 100)
    assert math.isnan(relative_change_pct(1.0, 0.0))
    assert math.isnan(relative_change_pct(math.nan, 1.0))


@pytest.mark.parametrize("diffs", [[0.05, 0.12], [0.03, -0.01, 0.08], [0.1, 0.02, 0.07, 0.04, 0.12, -0.02]])
def test_paired_t_is_scipys_t_interval_and_test(diffs: list[float]) -> None:
    comparison = paired_t(diffs)
    n = len(diffs)
    low, high = stats.t.interval(0.95, n - 1, loc=np.mean(diffs), scale=stats.sem(diffs))
    assert comparison.n == n and comparison.mean == pytest.approx(np.mean(diffs))
    assert comparison.sd == pytest.approx(np.std(diffs, ddof=1))
    assert (comparison.ci_low, comparison.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert comparison.p_value == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue)
    assert comparison.mde_80 == pytest.approx(minimum_detectable_effect(comparison.sd, n))
    assert comparison.note == ""


def test_paired_t_says_why_it_cannot_speak() -> None:
    one = paired_t([0.1])
    assert one.n == 1 and one.mean == 0.1
    assert all(math.isnan(v) for v in (one.sd, one.ci_low, one.ci_high, one.p_value, one.mde_80))
    assert one.note == "1 paired seed: no spread, so no CI or p"
    assert paired_t([]).note.startswith("0 paired seeds") and math.isnan(paired_t([]).mean)
    assert paired_t([math.nan, 0.2]).n == 1  # a missing value is not a seed
    equal = paired_t([40.1 - 40.0, 38.3 - 38.2, 0.1])  # equal up to float rounding
    # No zero-width interval [m, m]: equal differences have no spread to build one from.
    assert "no spread" in equal.note and math.isnan(equal.ci_low) and math.isnan(equal.ci_high)


def _nct_power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    df, nc = n - 1, effect / (sd / math.sqrt(n))
    t_crit = stats.t.ppf(1 - alpha / 2, df)
    return float(stats.nct.sf(t_crit, df, nc) + stats.nct.cdf(-t_crit, df, nc))


@pytest.mark.parametrize("n", [3, 5, 10, 30])
@pytest.mark.parametrize("effect", [0.01, 0.03, 0.08])
def test_power_is_scipys_noncentral_t_where_that_works(n: int, effect: float) -> None:
    assert paired_t_power(effect, 0.03, n) == pytest.approx(_nct_power(effect, 0.03, n), abs=1e-6)


def test_minimum_detectable_effect_has_the_power_it_claims() -> None:
    for n in (3, 5, 10):
        mde = minimum_detectable_effect(0.03, n)
        assert _nct_power(mde, 0.03, n) == pytest.approx(0.8, abs=1e-5)
    assert minimum_detectable_effect(0.03, 10) < minimum_detectable_effect(0.03, 5)
    assert math.isnan(minimum_detectable_effect(0.03, 1)) and math.isnan(minimum_detectable_effect(0.0, 5))


def test_two_seed_power_against_monte_carlo() -> None:
    # scipy's noncentral t is NaN at one degree of freedom and large noncentrality: check n = 2 by simulation.
    sd, n = 0.03, 2
    mde = minimum_detectable_effect(sd, n)
    assert math.isnan(_nct_power(mde, sd, n)) or _nct_power(mde, sd, n) == pytest.approx(0.8, abs=1e-3)
    rng = np.random.default_rng(0)
    draws = rng.normal(mde, sd, size=(200_000, n))
    p_values = stats.ttest_1samp(draws, 0.0, axis=1).pvalue
    assert np.mean(p_values < 0.05) == pytest.approx(0.8, abs=0.005)


def test_seeds_needed_is_the_first_n_with_enough_power() -> None:
    n = seeds_needed(0.02, 0.03)
    assert paired_t_power(0.02, 0.03, n) >= 0.8 > paired_t_power(0.02, 0.03, n - 1)
    # The normal approximation (z_0.975 + z_0.8)^2 sd^2 / effect^2 is a lower bound a few seeds below.
    assert n >= math.ceil((1.96 + 0.8416) ** 2 * (0.03 / 0.02) ** 2)
    assert seeds_needed(1.0, 0.01) == 2
    assert seeds_needed(0.02, 0.03, alpha=0.05 / 10) > n
    assert seeds_needed(1e-9, 1.0, limit=1000) == -1
    with pytest.raises(ValueError):
        seeds_needed(0.02, math.nan)


def test_holm_on_a_known_case() -> None:
    # Sorted: 0.005 x 4, 0.01 x 3, 0.03 x 2, 0.04 x 1, each raised to the running maximum; NaN stays out.
    assert holm([0.01, 0.04, 0.03, math.nan, 0.005]) == pytest.approx([0.03, 0.06, 0.06, math.nan, 0.02], nan_ok=True)
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([]) == []


@pytest.mark.parametrize(
    ("label", "params", "expected"),
    [
        ("relu", {}, [0.0, 0.0, 2.0]),
        ("lrelu", {}, [-0.02, 0.0, 2.0]),
        ("lrelu(0.2)", {"negative_slope": 0.2}, [-0.4, 0.0, 2.0]),
        ("prelu", {}, [-0.5, 0.0, 2.0]),
        ("elu", {}, [math.expm1(-2.0), 0.0, 2.0]),
        ("swish", {}, [-2.0 / (1 + math.exp(2.0)), 0.0, 2.0 / (1 + math.exp(-2.0))]),
        (
            "mish",
            {},
            [-2.0 * math.tanh(math.log1p(math.exp(-2.0))), 0.0, 2.0 * math.tanh(math.log1p(math.exp(2.0)))],
        ),
        (
            "gelu",
            {},
            [
                -2.0 * 0.5 * (1 + math.erf(-2.0 / math.sqrt(2))),
                0.0,
                2.0 * 0.5 * (1 + math.erf(2.0 / math.sqrt(2))),
            ],
        ),
        ("identity", {}, [-2.0, 0.0, 2.0]),
    ],
)
def test_plotted_formulas(label: str, params: dict, expected: list[float]) -> None:
    assert formula_values(label, params, np.array([-2.0, 0.0, 2.0])) == pytest.approx(expected)


def test_unknown_activation_has_no_curve() -> None:
    assert formula_values("hardtanh", {}, np.zeros(3)) is None

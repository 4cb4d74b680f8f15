"""The report's statistics against numpy and scipy, with their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import wilcoxon

from src.report.plots import activation_values
from src.report.stats import bootstrap_mean_ci, mean_std, relative_change_pct, wilcoxon_p


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


def test_bootstrap_is_reproducible_and_brackets_the_mean() -> None:
    diffs = np.random.default_rng(3).normal(0.05, 0.1, size=40)
    low, high = bootstrap_mean_ci(diffs)
    assert (low, high) == bootstrap_mean_ci(diffs)
    assert low < diffs.mean() < high
    # Roughly the normal-theory interval of the mean.
    half = 1.96 * diffs.std(ddof=1) / math.sqrt(diffs.size)
    assert high - low == pytest.approx(2 * half, rel=0.15)
    assert all(math.isnan(v) for v in bootstrap_mean_ci([0.1]))


def test_wilcoxon_is_scipys_and_says_when_it_cannot_be_computed() -> None:
    diffs = [0.1, -0.05, 0.2, 0.15, 0.3, -0.02]
    p, note = wilcoxon_p(diffs)
    assert p == pytest.approx(wilcoxon(diffs).pvalue) and note == ""
    p, note = wilcoxon_p([0.0, 0.0, 0.0])
    assert math.isnan(p) and "zero" in note
    p, note = wilcoxon_p([0.1])
    assert math.isnan(p) and "too few" in note


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
    ],
)
def test_activation_formulas(label: str, params: dict, expected: list[float]) -> None:
    values = activation_values(label, params, np.array([-2.0, 0.0, 2.0]))
    assert values == pytest.approx(expected)


def test_unknown_activation_has_no_curve() -> None:
    assert activation_values("hardtanh", {}, np.zeros(3)) is None

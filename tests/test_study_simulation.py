"""The whole sequential procedure, simulated with the code src.study runs: its error rates and its savings.

20,000 simulated studies per scenario: a rate's Monte Carlo SE is at most 0.16 points near 5%.
"""

from __future__ import annotations

import math

import pytest

from src.report.decisions import BETTER, EQUIVALENT, WORSE
from src.study.design import Design
from src.study.simulate import any_rate, main, simulate

REPLICATES = 20_000
SCALES = [2, 4]  # 4 levels x 2 scales = 8 comparisons, x4 from x2 as in experiment=paper


def _tolerance(rate: float) -> float:
    return 3 * math.sqrt(rate * (1 - rate) / REPLICATES)


@pytest.mark.parametrize("spending", ["obf", "pocock"])
def test_family_wise_false_better_or_worse_stays_below_alpha_when_nothing_differs(spending: str) -> None:
    design = Design((3, 5, 8), 0.05, 0.05, 8, spending)
    outcome = simulate(design, sd=0.03, effect=0.0, scales=SCALES, x2_first=True, replicates=REPLICATES)
    rate = any_rate(outcome, (BETTER, WORSE))
    assert rate <= 0.05 + _tolerance(0.05)
    assert rate > 0.025  # the spending is used, not thrown away


@pytest.mark.parametrize("spending", ["obf", "pocock"])
def test_family_wise_false_equivalent_stays_below_alpha_at_the_margin(spending: str) -> None:
    design = Design((3, 5, 8), 0.05, 0.05, 8, spending)
    outcome = simulate(design, sd=0.03, effect=0.05, scales=SCALES, x2_first=True, replicates=REPLICATES)
    assert any_rate(outcome, (EQUIVALENT,)) <= 0.05 + _tolerance(0.05)


def test_t_boundaries_spend_exactly_alpha_over_the_looks_at_two_degrees_of_freedom() -> None:
    # One comparison and a margin nothing can be shown equivalent to, so only the difference test stops the
    # study: its rate over all looks is alpha itself. Normal-theory boundaries at 2-7 df would not be.
    design = Design((3, 5, 8), 1e-9, 0.05, 1, "obf")
    outcome = simulate(design, sd=0.03, effect=0.0, scales=[2], replicates=2 * REPLICATES, seed=3)
    assert any_rate(outcome, (BETTER, WORSE)) == pytest.approx(0.05, abs=3 * math.sqrt(0.05 * 0.95 / 40_000))


@pytest.mark.parametrize(
    ("effect", "margin", "at_most"),
    [(0.3, 0.05, 0.65), (0.0, 0.2, 0.70)],  # a large difference; a difference clearly absent
)
def test_clear_answers_cost_fewer_runs_than_the_fixed_design(effect: float, margin: float, at_most: float) -> None:
    design = Design((3, 5, 8), margin, 0.05, 8, "obf")
    sequential = simulate(design, 0.03, effect, SCALES, x2_first=True, replicates=REPLICATES)
    fixed = simulate(design.fixed(), 0.03, effect, SCALES, x2_first=True, replicates=REPLICATES)
    assert fixed.runs.min() == fixed.runs.max() == 8 * 5 * 2  # 8 seeds x (4 levels + relu) x 2 scales
    # Measured: 50.0 of 80 runs (-37%) with a 0.3 dB difference, 51.7 of 80 (-35%) with none and margin 0.2 dB.
    assert sequential.runs.mean() <= at_most * fixed.runs.mean()
    word = BETTER if effect > 0 else EQUIVALENT
    assert (sequential.verdicts == word).mean() > 0.99


def test_the_simulate_command_prints_both_designs(capsys) -> None:
    argv = ["--looks", "3,5,8", "--margin", "0.05", "--sd", "0.03", "--comparisons", "8", "--effect", "0.1"]
    assert main([*argv, "--replicates", "2000"]) == 0
    out = capsys.readouterr().out
    assert "| | sequential (looks 3,5,8) | fixed (8 seeds) |" in out
    for row in ("false better/worse, family-wise", "false equivalent, family-wise", "power: better", "expected runs"):
        assert row in out

"""Small, pure statistics: seed spread, relative change, the paired t over seeds, power, Holm's adjustment.

The training run is the unit of replication: every inference here takes one value per seed (a set-level
metric, or its difference from ReLU of the same seed), never per-image values pooled over seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Gauss-Legendre nodes and weights on (0, 1) for averaging over the quantiles of a chi-square (paired_t_power).
_NODES, _LEGENDRE_WEIGHTS = np.polynomial.legendre.leggauss(200)
_QUANTILES, _WEIGHTS = (_NODES + 1.0) / 2.0, _LEGENDRE_WEIGHTS / 2.0


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1); NaN where undefined (no values; std of one value)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return math.nan, math.nan
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else math.nan


def relative_change_pct(value: float, reference: float) -> float:
    """(value - reference) / reference * 100, the way the paper reports changes vs ReLU."""
    if not (math.isfinite(value) and math.isfinite(reference)) or reference == 0:
        return math.nan
    return (value - reference) / reference * 100.0


@dataclass(frozen=True)
class Comparison:
    """Inference on paired per-seed differences (activation - ReLU of the same seed), one value per seed.

    `sd` is the seed-to-seed standard deviation of the differences; `mde_80` the smallest true mean difference
    that the test which makes the comparison's star detects with 80% power given `n` and `sd` (set by the
    table at its family's level, see src/report/summary.py); `p_adj` is `p_value` adjusted across the
    comparisons of one table (see `holm`); `p_equivalence` the TOST p against the margin and `p_equivalence_adj`
    its Holm adjustment over the same family; `verdict` one of src/report/decisions.py's words; `note` says why
    a field is NaN (too few pairs, no spread).
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p_value: float
    mde_80: float
    note: str = ""
    p_adj: float = math.nan
    p_equivalence: float = math.nan
    p_equivalence_adj: float = math.nan
    verdict: str = ""


def paired_t(diffs: Sequence[float], level: float = 0.95, alpha: float = 0.05, power: float = 0.8) -> Comparison:
    """Paired t-interval and two-sided t-test over seeds (the training run is the unit of replication).

    Fewer than two pairs leave no spread to test against: CI, p and MDE are NaN and `note` says why. A t-test
    on n >= 2 values can reach any p, so no further floor applies (an exact sign or rank test on 3 values
    could not go below 0.25; that is why this is not one).
    """
    from scipy import stats

    x = np.asarray([d for d in diffs if math.isfinite(d)], dtype=float)
    n = int(x.size)
    if n < 2:
        mean = float(x.mean()) if n else math.nan
        note = f"{n} paired seed{'' if n == 1 else 's'}: no spread, so no CI or p"
        return Comparison(n, mean, math.nan, math.nan, math.nan, math.nan, math.nan, note)
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    # Equal differences that went through float subtraction (40.1 - 40.0) differ in the last bits: no spread.
    if float(np.ptp(x)) <= 1e-9 * max(1.0, float(np.abs(x).max())):
        sd = 0.0
    if sd == 0:
        # A zero-width interval [m, m] would claim a certainty that two or three equal values do not give.
        note = "all paired differences are equal: no spread"
        return Comparison(n, mean, 0.0, math.nan, math.nan, math.nan, math.nan, note)
    se = sd / math.sqrt(n)
    t_crit = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
    return Comparison(
        n,
        mean,
        sd,
        mean - t_crit * se,
        mean + t_crit * se,
        float(stats.ttest_1samp(x, 0.0).pvalue),
        minimum_detectable_effect(sd, n, alpha, power),
    )


def paired_t_power(effect: float, sd: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided paired t-test at `alpha` on `n` seeds when the true mean difference is `effect`
    and the true seed-to-seed SD of the differences is `sd`.

    Exact: the test statistic is Z / sqrt(V / df) with Z ~ N(effect / se, 1) and V ~ chi2(df), so the power is
    the normal rejection probability given V, averaged over V's distribution. The average is taken over V's
    quantiles u in (0, 1) by Gauss-Legendre quadrature, which keeps the integrand bounded and smooth for any df;
    scipy's noncentral t returns NaN for one degree of freedom and large noncentrality, which two seeds need.
    """
    from scipy import stats

    if n < 2 or not math.isfinite(sd) or sd <= 0:
        return math.nan
    df = n - 1
    nc = abs(effect) / (sd / math.sqrt(n))
    t_crit = float(stats.t.ppf(1.0 - alpha / 2.0, df))
    bound = t_crit * np.sqrt(stats.chi2.ppf(_QUANTILES, df) / df)
    return float(np.dot(_WEIGHTS, stats.norm.sf(bound - nc) + stats.norm.cdf(-bound - nc)))


def minimum_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest |mean difference| a two-sided paired t-test on `n` seeds detects with `power`, given `sd`."""
    from scipy import optimize

    if n < 2 or not math.isfinite(sd) or sd <= 0:
        return math.nan
    se = sd / math.sqrt(n)
    high = 4.0 * se
    while paired_t_power(high, sd, n, alpha) < power:  # with few seeds the needed noncentrality is large
        high *= 2.0
    return float(optimize.brentq(lambda d: paired_t_power(d, sd, n, alpha) - power, 0.0, high, xtol=1e-6 * se))


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8, limit: int = 1_000_000) -> int:
    """Fewest paired seeds (n >= 2) for which the paired t-test detects `effect` with `power`; -1 past `limit`.

    Power grows with n, so the answer is found by doubling, then bisection.
    """
    if not (math.isfinite(sd) and sd > 0 and math.isfinite(effect) and effect != 0):
        raise ValueError(f"needs a finite sd > 0 and a nonzero effect, got sd={sd}, effect={effect}")

    def enough(n: int) -> bool:
        return paired_t_power(effect, sd, n, alpha) >= power

    low, high = 1, 2  # invariant: `low` is not enough (n = 1 has no test), `high` is under test
    while not enough(high):
        if high >= limit:
            return -1
        low, high = high, min(2 * high, limit)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if enough(middle) else (middle, high)
    return high


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate under any dependence).

    NaN p-values (comparisons that cannot be tested) are left NaN and do not count towards the family size.
    """
    indexed = sorted((p, i) for i, p in enumerate(p_values) if math.isfinite(p))
    m = len(indexed)
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted

"""Small, pure statistics on arrays: seed spread, relative change, bootstrap CI, Wilcoxon p-value."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0
# Resamples are drawn in blocks so that memory stays small for large pooled sets (DIV2K x many seeds).
_BLOCK = 1_000


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


def bootstrap_mean_ci(
    diffs: Sequence[float],
    level: float = 0.95,
    n_resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean; fixed RNG seed so that reports are reproducible.

    NaN for fewer than two differences: resampling one value says nothing about its spread.
    """
    x = np.asarray(diffs, dtype=float)
    if x.size < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = np.concatenate(
        [
            x[rng.integers(0, x.size, size=(min(_BLOCK, n_resamples - start), x.size))].mean(axis=1)
            for start in range(0, n_resamples, _BLOCK)
        ]
    )
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha])
    return float(low), float(high)


def wilcoxon_p(diffs: Sequence[float]) -> tuple[float, str]:
    """Two-sided Wilcoxon signed-rank p-value of paired differences, and why it is NaN when it is."""
    from scipy.stats import wilcoxon

    x = np.asarray(diffs, dtype=float)
    if x.size < 2:
        return math.nan, f"{x.size} paired image(s): too few for a test"
    if not np.any(x):
        return math.nan, "all paired differences are zero"
    return float(wilcoxon(x).pvalue), ""


@dataclass(frozen=True)
class Comparison:
    """Inference on paired per-seed differences (activation - ReLU of the same seed), one value per seed.

    `sd` is the seed-to-seed standard deviation of the differences; `mde_80` the smallest true mean difference
    that a two-sided test at `alpha` would detect with 80% power given `n` and `sd`; `note` says why a field
    is NaN (too few pairs, a test that cannot reach `alpha`).
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float
    p_value: float
    mde_80: float
    note: str = ""


def paired_t(diffs: Sequence[float], level: float = 0.95, alpha: float = 0.05, power: float = 0.8) -> Comparison:
    """Paired t-interval and two-sided t-test over seeds (the training run is the unit of replication)."""
    from scipy import stats

    x = np.asarray([d for d in diffs if math.isfinite(d)], dtype=float)
    n = int(x.size)
    if n < 2:
        mean = float(x.mean()) if n else math.nan
        return Comparison(n, mean, math.nan, math.nan, math.nan, math.nan, math.nan, f"{n} paired seed(s): no CI")
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    t_crit = float(stats.t.ppf(0.5 + level / 2.0, n - 1))
    p_value = float(stats.ttest_1samp(x, 0.0).pvalue) if sd > 0 else math.nan
    return Comparison(
        n,
        mean,
        sd,
        mean - t_crit * se,
        mean + t_crit * se,
        p_value,
        minimum_detectable_effect(sd, n, alpha, power),
        "" if sd > 0 else "all paired differences are equal",
    )


def minimum_detectable_effect(sd: float, n: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest |mean difference| a two-sided paired t-test on `n` seeds detects with `power` (noncentral t)."""
    from scipy import integrate, optimize, stats

    if n < 2 or not math.isfinite(sd) or sd <= 0:
        return math.nan
    df = n - 1
    se = sd / math.sqrt(n)
    t_crit = float(stats.t.ppf(1.0 - alpha / 2.0, df))

    def achieved(delta: float) -> float:
        # Power of the two-sided test, integrated over the sample variance (scipy's noncentral t returns NaN
        # for one degree of freedom and large noncentrality, which two seeds need).
        nc = delta / se

        def given_v(v: float) -> float:
            bound = t_crit * math.sqrt(v / df)
            return float((stats.norm.sf(bound - nc) + stats.norm.cdf(-bound - nc)) * stats.chi2.pdf(v, df))

        return integrate.quad(given_v, 0.0, math.inf, limit=200)[0] - power

    high = se * (t_crit + 3.0)
    while achieved(high) < 0:  # widen the bracket: with few seeds the needed noncentrality is large
        high *= 2.0
    return float(optimize.brentq(achieved, 0.0, high, xtol=1e-6 * se))

"""Small, pure statistics on arrays: seed spread, relative change, bootstrap CI, Wilcoxon p-value."""

from __future__ import annotations

import math
from collections.abc import Sequence

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

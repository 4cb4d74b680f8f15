"""Pooling one comparison over models: random-effects meta-analysis with its heterogeneity.

Each model gives an estimate y_i (its mean per-seed difference) with variance v_i = sd_i^2 / n_i. The pooled
effect is the inverse-variance mean under a random-effects model (DerSimonian and Laird 1986: tau^2 from
Cochran's Q), with Hartung-Knapp's t-interval on k - 1 degrees of freedom (variance factor at least 1), which
keeps its level with the two or three models a sweep has, where the normal interval is far too narrow.
I^2 = max(0, (Q - (k - 1)) / Q) is the share of the spread between models beyond what their seeds explain.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pooled:
    k: int
    mean: float
    se: float
    df: int
    ci_low: float
    ci_high: float
    p_value: float
    q: float
    i2: float
    tau2: float


def pool(means: Sequence[float], variances: Sequence[float], level: float = 0.95) -> Pooled | None:
    """Random-effects pooling of k >= 2 estimates with finite, positive variances; None otherwise."""
    from scipy import stats

    y, v = np.asarray(means, dtype=float), np.asarray(variances, dtype=float)
    if y.size < 2 or not (np.isfinite(y).all() and np.isfinite(v).all() and (v > 0).all()):
        return None
    k = int(y.size)
    w = 1.0 / v
    fixed = float(np.sum(w * y) / np.sum(w))
    q = float(np.sum(w * (y - fixed) ** 2))
    tau2 = max(0.0, (q - (k - 1)) / (float(np.sum(w)) - float(np.sum(w**2)) / float(np.sum(w))))
    w_star = 1.0 / (v + tau2)
    mean = float(np.sum(w_star * y) / np.sum(w_star))
    factor = max(1.0, float(np.sum(w_star * (y - mean) ** 2)) / (k - 1))
    se = math.sqrt(factor / float(np.sum(w_star)))
    t_crit = float(stats.t.ppf(0.5 + level / 2.0, k - 1))
    p_value = float(2.0 * stats.t.sf(abs(mean) / se, k - 1))
    i2 = max(0.0, (q - (k - 1)) / q) if q > 0 else 0.0
    return Pooled(k, mean, se, k - 1, mean - t_crit * se, mean + t_crit * se, p_value, q, i2, tau2)


def equivalence_p(pooled: Pooled, margin: float) -> float:
    """TOST p of the pooled effect against +-margin, with the same t on k - 1 df as its interval."""
    from scipy import stats

    lower = float(stats.t.sf((pooled.mean + margin) / pooled.se, pooled.df))
    upper = float(stats.t.cdf((pooled.mean - margin) / pooled.se, pooled.df))
    return max(lower, upper)

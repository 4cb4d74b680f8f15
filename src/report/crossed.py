"""A secondary interval that also treats the test images as sampled: crossed seed x image random effects.

The seed-only interval (src/report/stats.py) is about these test images: it asks how the difference would vary
if the networks were retrained. Treating the images as a sample from a population of images too, each paired
difference is modelled as d[s, i] = mu + a_s + b_i + e_si (seed effect a, image effect b, interaction e,
independent, means 0, variances sa2, sb2, se2). The endpoint is the weighted mean D = sum_i w_i mean_s d[s, i]
(weights summing to 1: the primary endpoint weighs each set equally and each image equally within its set), so

    Var(D) = sa2 / n + sb2 * W + se2 * W / n,   W = sum_i w_i^2,

with the variance components estimated by the method of moments from the two-way ANOVA mean squares (a negative
estimate is set to 0, its term dropped), and the degrees of freedom by Satterthwaite's approximation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CrossedInterval:
    mean: float
    low: float
    high: float
    df: float
    sd_seed: float
    sd_image: float


def crossed_interval(d: np.ndarray, weights: np.ndarray | None = None, level: float = 0.95) -> CrossedInterval | None:
    """The interval for D from a seeds x images array of paired differences; None under 2 seeds or 2 images."""
    from scipy import stats

    d = np.asarray(d, dtype=float)
    if d.ndim != 2 or d.shape[0] < 2 or d.shape[1] < 2 or not np.isfinite(d).all():
        return None
    n, k = d.shape
    w = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, dtype=float) / float(np.sum(weights))
    grand = d.mean()
    seed_means, image_means = d.mean(axis=1), d.mean(axis=0)
    ms_seed = k * float(np.sum((seed_means - grand) ** 2)) / (n - 1)
    ms_image = n * float(np.sum((image_means - grand) ** 2)) / (k - 1)
    residual = d - seed_means[:, None] - image_means[None, :] + grand
    ms_error = float(np.sum(residual**2)) / ((n - 1) * (k - 1))
    big_w = float(np.sum(w**2))
    sa2, sb2 = (ms_seed - ms_error) / k, (ms_image - ms_error) / n
    # Var(D) as a combination of mean squares: c_seed MS_seed + c_image MS_image + c_error MS_error.
    c_seed = 1.0 / (n * k) if sa2 > 0 else 0.0
    c_image = big_w / n if sb2 > 0 else 0.0
    c_error = big_w / n - c_seed - (big_w / n if sb2 > 0 else 0.0)
    terms = [(c_seed, ms_seed, n - 1), (c_image, ms_image, k - 1), (c_error, ms_error, (n - 1) * (k - 1))]
    variance = sum(c * ms for c, ms, _ in terms)
    mean = float(np.dot(w, image_means))
    if not variance > 0:
        return CrossedInterval(mean, math.nan, math.nan, math.nan, 0.0, 0.0)
    df = variance**2 / sum((c * ms) ** 2 / f for c, ms, f in terms if c != 0)
    half = float(stats.t.ppf(0.5 + level / 2.0, max(df, 1.0))) * math.sqrt(variance)
    return CrossedInterval(mean, mean - half, mean + half, float(df), math.sqrt(max(sa2, 0)), math.sqrt(max(sb2, 0)))

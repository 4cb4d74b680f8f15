"""Verdicts: every comparison against the reference ends `better`, `worse`, `equivalent` or `undecided`.

The difference test is the two-sided paired t over seeds; equivalence is two one-sided tests (TOST, Schuirmann
1987) against a declared margin: the mean difference is shown to lie inside (-margin, +margin) when both
H0: d <= -margin and H0: d >= +margin are rejected. A fixed design passes Holm-adjusted p-values and alpha; a
sequential study passes the raw p-values and the nominal levels its spending function allows at that look.
Positive differences are improvements (PSNR and SSIM: higher is better).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

BETTER = "better"
WORSE = "worse"
EQUIVALENT = "equivalent"
UNDECIDED = "undecided"
VERDICTS = (BETTER, WORSE, EQUIVALENT, UNDECIDED)


@dataclass(frozen=True)
class PairedTests:
    """The two tests of one comparison over n paired seeds: the mean difference, the two-sided p of H0: d = 0
    and the TOST p of H0: |d| >= margin (the larger of its two one-sided p-values). NaN below 2 seeds."""

    n: int
    mean: float
    p_difference: float
    p_equivalence: float


def paired_tests(diffs: Sequence[float], margin: float) -> PairedTests:
    """Both tests on per-seed differences (level - reference of the same seed), t with n - 1 df."""
    d = np.asarray([v for v in diffs if math.isfinite(v)], dtype=float)
    n = int(d.size)
    if n < 2:
        return PairedTests(n, float(d.mean()) if n else math.nan, math.nan, math.nan)
    mean, se = float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n)
    df = n - 1
    if se == 0.0:
        # No spread: every seed gave the same difference, so each test is decided by where that value lies.
        p_difference = 0.0 if mean != 0.0 else 1.0
        p_equivalence = 0.0 if abs(mean) < margin else 1.0
        return PairedTests(n, mean, p_difference, p_equivalence)
    p_difference = float(2.0 * stats.t.sf(abs(mean) / se, df))
    p_above_lower = float(stats.t.sf((mean + margin) / se, df))  # H0: d <= -margin
    p_below_upper = float(stats.t.cdf((mean - margin) / se, df))  # H0: d >= +margin
    return PairedTests(n, mean, p_difference, max(p_above_lower, p_below_upper))


def verdict(mean: float, p_difference: float, p_equivalence: float, alpha: float, alpha_equivalence: float) -> str:
    """One word per comparison. A difference shown at `alpha` is `better`/`worse` by its sign (it takes
    precedence: a detectable difference is reported even when it is smaller than the margin); otherwise
    equivalence shown at `alpha_equivalence`; otherwise `undecided`. NaN p-values decide nothing."""
    if p_difference <= alpha:
        return BETTER if mean > 0 else WORSE
    if p_equivalence <= alpha_equivalence:
        return EQUIVALENT
    return UNDECIDED

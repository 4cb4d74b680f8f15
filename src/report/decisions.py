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

# The family-wise error rate of every table: the stars, the verdicts and the plans use it.
ALPHA = 0.05
# The equivalence margin (dB of the primary endpoint) when neither --margin nor the jobs' `report.margin` gives
# one; README "How to read the table" says why 0.05 dB.
DEFAULT_MARGIN = 0.05

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


@dataclass(frozen=True)
class FamilyDecision:
    """One comparison's Holm-adjusted p-values (difference and equivalence) and its verdict."""

    p_difference_adj: float
    p_equivalence_adj: float
    verdict: str


def family_verdicts(tests: Sequence[PairedTests], alpha: float = ALPHA) -> list[FamilyDecision]:
    """Verdicts for one family of comparisons with the family-wise error rate held at `alpha` for each kind of
    claim: Holm over the family's difference p-values (the stars) and, separately, over its equivalence
    p-values. Comparisons without a p-value (under 2 seeds) do not count towards the family and stay
    `undecided`."""
    from src.report.stats import holm

    p_difference = holm([t.p_difference for t in tests])
    p_equivalence = holm([t.p_equivalence for t in tests])
    return [
        FamilyDecision(pd, pe, verdict(t.mean, pd, pe, alpha, alpha) if math.isfinite(pd) else UNDECIDED)
        for t, pd, pe in zip(tests, p_difference, p_equivalence, strict=True)
    ]

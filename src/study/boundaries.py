"""Group-sequential boundaries for paired t-tests over seeds: the nominal p-value level of each look.

Alpha spending (Lan & DeMets 1983, Biometrika 70:659; Jennison & Turnbull 2000, *Group Sequential Methods with
Applications to Clinical Trials*, ch. 7): a spending function f(t), f(1) = alpha, says how much of the error rate
may be used up by information fraction t = n_k / n_max (seeds so far / seeds at the last look), so look k may
reject with probability f(t_k) - f(t_{k-1}) on paths no earlier look rejected. Stopping early for another reason
(the other test deciding) only removes chances to err, so both tests keep their rates when the study stops on
either ("non-binding" boundaries, Jennison & Turnbull 2000, sec. 5.2).

Normal-theory boundaries assume a known SD. With 3-8 seeds the t-statistic's tails are much heavier, and the
t-statistics of successive looks share data while each estimates the SD afresh, so their joint law has no closed
form. It is pivotal, though: under H0: d = 0 the sequence T_1..T_L has the same law whatever the SD, and so has
(mean - margin) / se when d = margin (the TOST side that false equivalence must pass). So the boundaries are
exact for the t case up to Monte Carlo error, computed on standard normal data with a fixed RNG seed (the same
design always gets the same boundaries):

- look 1: exactly the t quantile (T_1 is t with n_1 - 1 df), no simulation;
- look k: the critical value c solves P_t(|T_k| >= c) - P_mc(an earlier look crossed, |T_k| >= c) = spend_k. The
  first term is exact; only the overlap with earlier crossings (at most f(t_{k-1})) is simulated, which confines
  the Monte Carlo error to a small term.

A path is cheap to draw from sufficient statistics: a block of m new seeds adds its sum ~ N(0, m) and its
within-block sum of squares ~ chi2(m - 1), independent of each other and of earlier blocks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import optimize, stats

# Fixed so that a design's boundaries are a pure function of the design.
MC_SEED = 20_231_983
MC_PATHS = 400_000


def obrien_fleming(alpha: float, t: np.ndarray) -> np.ndarray:
    """Lan-DeMets O'Brien-Fleming-type spending: almost nothing early, nearly the whole alpha at the end."""
    return 2.0 - 2.0 * stats.norm.cdf(stats.norm.isf(alpha / 2.0) / np.sqrt(t))


def pocock(alpha: float, t: np.ndarray) -> np.ndarray:
    """Lan-DeMets Pocock-type spending: alpha * ln(1 + (e - 1) t), more evenly over the looks."""
    return alpha * np.log1p((math.e - 1.0) * t)


SPENDING: dict[str, Callable[[float, np.ndarray], np.ndarray]] = {"obf": obrien_fleming, "pocock": pocock}
SPENDING_NAMES = {"obf": "O'Brien-Fleming-type", "pocock": "Pocock-type"}


def spent(spending: str, alpha: float, looks: Sequence[int]) -> np.ndarray:
    """Cumulative alpha spent by each look."""
    t = np.asarray(looks, dtype=float) / looks[-1]
    cumulative = SPENDING[spending](alpha, t)
    cumulative[-1] = alpha  # f(1) = alpha by definition; not 1 ulp off
    return cumulative


def t_paths(looks: Sequence[int], paths: int, seed: int) -> np.ndarray:
    """(paths, looks) t-statistics of standard normal data seen at `looks` seeds."""
    rng = np.random.default_rng(seed)
    total = np.zeros(paths)
    squares = np.zeros(paths)
    out = np.empty((paths, len(looks)))
    before = 0
    for k, n in enumerate(looks):
        m = n - before
        block = rng.standard_normal(paths) * math.sqrt(m)
        within = rng.chisquare(m - 1, paths) if m > 1 else 0.0
        total += block
        squares += within + block**2 / m
        mean = total / n
        sd = np.sqrt(np.maximum(squares - n * mean**2, 0.0) / (n - 1))
        out[:, k] = mean / (sd / math.sqrt(n))
        before = n
    return out


@functools.lru_cache(maxsize=64)
def nominal_levels(
    looks: tuple[int, ...],
    alpha: float,
    spending: str,
    two_sided: bool,
    paths: int = MC_PATHS,
    seed: int = MC_SEED,
) -> tuple[float, ...]:
    """The p-value each look's test must reach (p <= level) so that the whole sequence rejects with probability
    `alpha` when H0 is true: two-sided for the difference test, one-sided for each side of TOST."""
    cumulative = spent(spending, alpha, looks)
    if len(looks) == 1:
        return (float(cumulative[0]),)  # one look: the fixed design, exactly
    stat = t_paths(looks, paths, seed)
    if two_sided:
        stat = np.abs(stat)
    tails = 2.0 if two_sided else 1.0
    crossed = np.zeros(paths, dtype=bool)
    levels = []
    previous = 0.0
    for k, n in enumerate(looks):
        df = n - 1
        spend = float(cumulative[k]) - previous
        previous = float(cumulative[k])
        overlap = np.sort(stat[crossed, k])

        def excess(c: float, df: int = df, overlap: np.ndarray = overlap, spend: float = spend) -> float:
            earlier = (overlap.size - np.searchsorted(overlap, c, side="left")) / paths
            return tails * float(stats.t.sf(c, df)) - earlier - spend

        high = float(stats.t.isf(spend / tails, df))  # where the exact term alone spends it all
        c = high if excess(high) >= 0.0 else optimize.brentq(excess, 0.0, high, xtol=1e-10)
        crossed |= stat[:, k] >= c
        levels.append(tails * float(stats.t.sf(c, df)))
    return tuple(levels)

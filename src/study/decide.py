"""One look's decisions: the verdicts of src/report/decisions.py at the nominal levels of that look.

The study and its simulation decide with the same function, `decide`. The study computes each comparison's
tests with `decisions.paired_tests` over its per-seed differences; the simulation, which decides hundreds of
thousands of comparisons, with `paired_tests_many`, the same computation over arrays (the suite holds the two
equal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from src.report.decisions import UNDECIDED, paired_tests, verdict


@dataclass(frozen=True)
class Tests:
    """`decisions.PairedTests` for many comparisons at once: arrays of one shape."""

    n: np.ndarray
    mean: np.ndarray
    p_difference: np.ndarray
    p_equivalence: np.ndarray


def tests_of(diffs: Sequence[Sequence[float]], margin: float) -> Tests:
    """Each comparison's tests from its per-seed differences, by `decisions.paired_tests`."""
    results = [paired_tests(d, margin) for d in diffs]
    return Tests(
        np.array([r.n for r in results], dtype=int),
        np.array([r.mean for r in results], dtype=float),
        np.array([r.p_difference for r in results], dtype=float),
        np.array([r.p_equivalence for r in results], dtype=float),
    )


def paired_tests_many(diffs: np.ndarray, margin: float) -> Tests:
    """`decisions.paired_tests` over the last axis of a finite array (..., n): every leading index a comparison."""
    n = diffs.shape[-1]
    mean = diffs.mean(axis=-1)
    shape = mean.shape
    if n < 2:
        nan = np.full(shape, math.nan)
        return Tests(np.full(shape, n), mean if n else nan, nan, nan.copy())
    se = diffs.std(axis=-1, ddof=1) / math.sqrt(n)
    df = n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        p_difference = 2.0 * stats.t.sf(np.abs(mean) / se, df)
        p_equivalence = np.maximum(stats.t.sf((mean + margin) / se, df), stats.t.cdf((mean - margin) / se, df))
    # No spread: decided by where the one value lies, as paired_tests does.
    flat = se == 0.0
    p_difference = np.where(flat, np.where(mean != 0.0, 0.0, 1.0), p_difference)
    p_equivalence = np.where(flat, np.where(np.abs(mean) < margin, 0.0, 1.0), p_equivalence)
    return Tests(np.full(shape, n), mean, p_difference, p_equivalence)


_verdicts = np.vectorize(verdict, otypes=[object])


def decide(tests: Tests, alpha_difference: float, alpha_equivalence: float) -> np.ndarray:
    """`decisions.verdict` of every comparison at one look's nominal levels (an object array of words)."""
    if tests.mean.size == 0:
        return np.empty(tests.mean.shape, dtype=object)
    return _verdicts(tests.mean, tests.p_difference, tests.p_equivalence, alpha_difference, alpha_equivalence)


def still_open(verdicts: np.ndarray) -> np.ndarray:
    """Which comparisons go on to the next look."""
    return verdicts == UNDECIDED

"""Which runs the next look needs: the open comparisons' levels and the reference they pair with, per scale.

Shared by the study (one study: arrays of shape (S, V)) and its simulation (many: (R, S, V)), so the runs the
simulation counts are the runs the study launches.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def next_sweeps(open_: np.ndarray, scales: Sequence[int], x2_first: bool) -> tuple[tuple[int, ...], np.ndarray]:
    """`open_`: bool (..., S, V), comparison of scale s and non-reference level v still undecided.

    Returns the scales to sweep, ascending, and a bool mask (..., len(swept), 1 + V) of the levels each sweep
    runs, column 0 the reference (run wherever a level runs). When x3/x4 jobs start from the x2 job of their
    level and seed (`init_from: x2`), the x2 sweep also runs every level still open at a larger scale, even one
    whose own x2 comparison is decided (those runs do not reopen it), and comes first.
    """
    scales = list(scales)
    rows = open_.copy()
    swept = scales
    larger = [i for i, s in enumerate(scales) if s != 2]
    if x2_first and larger:
        needed = open_[..., larger, :].any(axis=-2)
        if 2 in scales:
            rows[..., scales.index(2), :] |= needed
        else:
            swept = [2, *scales]
            rows = np.concatenate([needed[..., None, :], rows], axis=-2)
    reference = rows.any(axis=-1, keepdims=True)
    return tuple(swept), np.concatenate([reference, rows], axis=-1)


def runs_of(mask: np.ndarray, new_seeds: int) -> np.ndarray:
    """Training runs a look launches: every (scale, level) of its sweeps, once per new seed."""
    return new_seeds * mask.sum(axis=(-1, -2))

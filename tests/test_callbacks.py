"""Our Lightning callbacks' pure parts."""

from __future__ import annotations

import numpy as np

from src.runtime.callbacks import same_size


def test_validation_crop_panels_are_cut_to_one_size_view_by_view() -> None:
    # Panels are three views side by side (bicubic | SR | HR); each view is filled with its index.
    big = np.concatenate([np.full((10, 8, 3), k, np.uint8) for k in range(3)], axis=1)
    small = np.concatenate([np.full((6, 4, 3), k, np.uint8) for k in range(3)], axis=1)
    out = same_size([big, small])
    assert [p.shape for p in out] == [(6, 12, 3), (6, 12, 3)]
    for panel in out:
        assert [int(panel[0, 4 * k + 1, 0]) for k in range(3)] == [0, 1, 2]

"""The benchmarks' photographs on a machine without the benchmark sets (a newcomer's): scikit-image's own."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import common


def test_without_the_benchmark_sets_every_listed_scikit_image_photo_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(common, "BENCHMARK_DIR", tmp_path / "no-sets-here")
    names = [name for name, _ in common.photos()]
    assert names == list(common.SKIMAGE_PHOTOS)  # all load offline and all are RGB
    mosaic = common.photo_mosaic(60, 80)
    assert mosaic.shape == (60, 80, 3) and mosaic.std() > 10

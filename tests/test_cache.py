"""The decoded-image cache checks each entry against the record written with it, once per process."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from src.data import cache
from src.data.images import write_image


def _damage(entry: Path, how: str, image: np.ndarray) -> None:
    if how == "truncated":
        entry.write_bytes(entry.read_bytes()[:-10])
    elif how == "garbled":
        data = bytearray(entry.read_bytes())
        data[-1] ^= 0xFF
        entry.write_bytes(bytes(data))
    elif how == "same-shape overwrite":
        np.save(entry, 255 - image)
    else:
        entry.with_suffix(".json").unlink()


@pytest.mark.parametrize("how", ["truncated", "garbled", "same-shape overwrite", "no record"])
def test_a_damaged_entry_is_rebuilt_from_its_image_with_one_warning(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    image = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")
    (entry,) = (tmp_path / "cache").glob("*.npy")
    _damage(entry, how, image)
    monkeypatch.setattr(cache, "_verified", set())  # as in a new process
    with caplog.at_level(logging.WARNING, logger="src.data.cache"):
        again = cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(again, image)
    (record,) = caplog.records
    assert str(tmp_path / "a.png") in record.getMessage() and "rebuilding it" in record.getMessage()


def test_an_entry_is_checked_once_per_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_image(tmp_path / "a.png", np.zeros((4, 4, 1), np.uint8))
    monkeypatch.setattr(cache, "_verified", set())
    checked: list[Path] = []
    real = cache._problem
    monkeypatch.setattr(cache, "_problem", lambda target: checked.append(target) or real(target))
    for _ in range(3):
        cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")
    monkeypatch.setattr(cache, "_verified", set())
    cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")
    assert len(checked) == 1  # written by the first call, checked by the "new process" only

"""Shared fixtures. The real benchmark sets live outside the project and are read in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# One setting finds the benchmark sets (Set5, Set14 in EDSR's `benchmark/` layout); by default they are where
# `make data` puts them. CI sets
# SR_REQUIRE_BENCHMARK=1 so that their absence fails instead of skipping.
BENCHMARK_DIR = Path(os.environ.get("SR_BENCHMARK_DIR", PROJECT_ROOT / "data" / "benchmark"))


@pytest.fixture(scope="session")
def benchmark_dir() -> Path:
    if not (BENCHMARK_DIR / "Set5" / "HR").is_dir():
        reason = (
            f"benchmark sets not found at {BENCHMARK_DIR}: run `make data`, or set SR_BENCHMARK_DIR to a folder "
            "holding Set5/ and Set14/ in EDSR's benchmark layout"
        )
        if os.environ.get("SR_REQUIRE_BENCHMARK") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return BENCHMARK_DIR


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the decoded-image cache and W&B's files out of the user's home during tests."""
    cache = tmp_path_factory.getbasetemp() / "sr_cache"
    monkeypatch.setenv("SR_CACHE_DIR", str(cache))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path_factory.getbasetemp() / "wandb"))


@pytest.fixture(scope="session")
def data_root(benchmark_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data root in the official layouts: 3 DIV2K-style training PNGs (no LR folder) and benchmark/Set5."""
    from tests.helpers import make_data_root

    return make_data_root(tmp_path_factory.mktemp("data") / "root", benchmark_dir)

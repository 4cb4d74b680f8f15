"""Shared by every benchmark: interleaved A/B timing, the machine record, and small real test images.

Each figure is a ratio of two variants run alternately (A, B, A, B, ...) in one process, so that load from
other processes on a shared machine falls on both sides alike; the medians of the two series and of the
per-pair ratios are what get reported.
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Where `make data` puts the benchmark sets, unless SR_BENCHMARK_DIR says otherwise.
BENCHMARK_DIR = Path(os.environ.get("SR_BENCHMARK_DIR", PROJECT_ROOT / "data" / "benchmark"))
# scikit-image photographs used when the benchmark sets are absent (they ship in its wheel).
# Each name is a loader in `skimage.data` whose file ships in the wheel (no pooch download); a test loads them all.
SKIMAGE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "immunohistochemistry")


@dataclass(frozen=True)
class ABResult:
    """Medians of two interleaved series of a measure (seconds, or a rate) and of their per-pair ratios."""

    a: float
    b: float
    ratio: float  # median over pairs of a_i / b_i
    runs_a: list[float]
    runs_b: list[float]

    def as_dict(self) -> dict[str, object]:
        return {
            "median_a": self.a,
            "median_b": self.b,
            "median_pair_ratio": self.ratio,
            "runs_a": self.runs_a,
            "runs_b": self.runs_b,
        }


def interleaved(run_a: Callable[[], float], run_b: Callable[[], float], repeats: int) -> ABResult:
    """Call `run_a`, `run_b`, `run_a`, ... `repeats` times each; each call returns its own measure."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    runs_a, runs_b = [], []
    for _ in range(repeats):
        runs_a.append(float(run_a()))
        runs_b.append(float(run_b()))
    pairs = [a / b for a, b in zip(runs_a, runs_b, strict=True)]
    return ABResult(statistics.median(runs_a), statistics.median(runs_b), statistics.median(pairs), runs_a, runs_b)


def seconds(fn: Callable[[], object]) -> float:
    """Wall time of one call of `fn`."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average() -> list[float] | None:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, object]:
    import torch

    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def now() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def photos() -> list[tuple[str, np.ndarray]]:
    """Real RGB photographs (H, W, 3) uint8: Set14 HR where present, else scikit-image's bundled photos."""
    set14 = BENCHMARK_DIR / "Set14" / "HR"
    if set14.is_dir():
        out = []
        for path in sorted(set14.glob("*.png")):
            with Image.open(path) as im:
                if im.mode == "RGB":
                    out.append((path.stem, np.asarray(im)))
        if out:
            return out
    from skimage import data

    images = [(name, getattr(data, name)()) for name in SKIMAGE_PHOTOS]
    return [(n, a) for n, a in images if a.ndim == 3 and a.shape[2] == 3]


def photo_mosaic(height: int, width: int, seed: int = 0, cols: int = 4, rows: int = 3) -> np.ndarray:
    """A `height` x `width` RGB image tiled from `rows` x `cols` real photos, each resized to its cell.

    A PNG's decode cost depends on its size and its entropy; a mosaic of unenlarged-looking photos keeps
    real-photo texture (an upscaled small photo would be smoother and decode faster than a DIV2K image).
    """
    pics = photos()
    order = np.random.default_rng(seed).permutation(len(pics))
    out = np.empty((height, width, 3), np.uint8)
    ys = np.linspace(0, height, rows + 1).astype(int)
    xs = np.linspace(0, width, cols + 1).astype(int)
    k = 0
    for r in range(rows):
        for c in range(cols):
            _, pic = pics[order[k % len(order)]]
            k += 1
            cell = Image.fromarray(pic).resize((xs[c + 1] - xs[c], ys[r + 1] - ys[r]), Image.Resampling.LANCZOS)
            out[ys[r] : ys[r + 1], xs[c] : xs[c + 1]] = np.asarray(cell)
    return out

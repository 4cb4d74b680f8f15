"""`resize_speed_vs_numpy`: the project's MATLAB-exact `downscale` against a plain numpy port of it.

Both produce the same uint8 image bit for bit (asserted); the figure is the speed ratio on a DIV2K-sized
photo mosaic (2040x1356x3) at x2 and x4, and MP/s counts input (HR) megapixels per second.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks import numpy_imresize
from benchmarks.common import interleaved, photo_mosaic, seconds
from src.data.imresize import downscale

SCALES = (2, 4)


def bench(quick: bool = False) -> dict[str, Any]:
    h, w = (226, 340) if quick else (1356, 2040)
    repeats = 1 if quick else 5
    hr = photo_mosaic(h, w)
    megapixels = h * w / 1e6
    out: dict[str, Any] = {}
    ratios = []
    for s in SCALES:
        ours, ref = downscale(hr, s), numpy_imresize.downscale(hr, s)
        if not np.array_equal(ours, ref):
            raise AssertionError(f"x{s}: downscale and the numpy port differ in {(ours != ref).sum()} values")
        res = interleaved(
            lambda s=s: seconds(lambda: numpy_imresize.downscale(hr, s)),
            lambda s=s: seconds(lambda: downscale(hr, s)),
            repeats,
        )
        ratios.append(res.ratio)
        out[f"x{s}"] = {
            "speed_vs_numpy": res.ratio,
            "ours_mp_per_s": megapixels / res.b,
            "numpy_mp_per_s": megapixels / res.a,
            "ours_seconds": res.b,
            "numpy_seconds": res.a,
            "identical": True,
            "runs (a = numpy seconds, b = ours seconds)": res.as_dict(),
        }
    out["resize_speed_vs_numpy"] = min(ratios)
    out["summary"] = ", ".join(
        f"x{s} {out[f'x{s}']['ours_mp_per_s']:.1f} vs {out[f'x{s}']['numpy_mp_per_s']:.1f} MP/s" for s in SCALES
    )
    out["setup"] = {
        "image": f"{w}x{h}x3 uint8 mosaic of real photos",
        "headline": "the smaller of the x2 and x4 ratios",
        "numpy": "benchmarks/numpy_imresize.py: contributions per dimension, gather-multiply-sum per tap in numpy",
    }
    return out

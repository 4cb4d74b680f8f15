"""`tiled_peak_mem_ratio`, `tiled_max_abs_diff`: tiled against whole-image EDSR inference on a CPU.

EDSR full (32 blocks, 256 features, res_scale 0.1), seeded random weights (no official weights can be
downloaded here), x2 on a 1020x678 real-photo LR image: `super_resolve(net, lr, 2)` against
`super_resolve(net, lr, 2, tile=...)` at the default `tile_overlap`, the network's receptive radius (68 LR
pixels for full EDSR x2), which makes the tiles exact for any weights. Each variant runs once, in its own
fresh process, so that its peak resident memory is its own; the peak is the rise of the process's resident
high-water mark over its resident size just before inference (model, input and a warm-up pass already in
memory). Memory use is deterministic for fixed shapes, so one run of each is the measurement; the timing
ratio is a single pair.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import PROJECT_ROOT, seconds

FULL = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1}
TINY = {"n_resblocks": 2, "n_feats": 16, "res_scale": 0.1}
SCALE = 2
SEED = 0


def _status_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's resident high-water mark (Linux: write 5 to clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(args: argparse.Namespace) -> None:
    """One variant in this (fresh) process: writes the uint8 SR image and a JSON record."""
    import torch

    from src.models.edsr import EDSR
    from src.models.inference import super_resolve

    torch.manual_seed(SEED)
    net = EDSR(SCALE, **json.loads(args.net)).eval()
    lr = torch.from_numpy(np.load(args.input)).permute(2, 0, 1)[None].float().contiguous()
    with torch.no_grad():
        net(lr[..., :16, :16])  # loads kernels and thread pools outside the measurement
    gc.collect()
    reset = _reset_peak()
    before_kb = _status_kb("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tile = args.tile or None
    out: dict[str, Any] = {}
    out["seconds"] = seconds(lambda: out.setdefault("sr", super_resolve(net, lr, SCALE, tile, args.tile_overlap)))
    peak_kb = _status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sr = out.pop("sr")
    np.save(args.output, sr[0].clamp(0, 255).round().to(torch.uint8).permute(1, 2, 0).numpy())
    record = {
        "seconds": out["seconds"],
        "peak_mb": (peak_kb - before_kb) / 1024,
        "baseline_mb": before_kb / 1024,
        "method": "VmHWM after clear_refs minus VmRSS" if reset else "ru_maxrss difference",
        "torch_threads": torch.get_num_threads(),
    }
    Path(args.record).write_text(json.dumps(record))


def _run_variant(tmp: Path, name: str, net: dict, tile: int, timeout: float) -> tuple[dict, np.ndarray]:
    output, record = tmp / f"{name}.npy", tmp / f"{name}.json"
    cmd = [sys.executable, "-m", "benchmarks.tiled", "--child", "--net", json.dumps(net), "--tile", str(tile)]
    cmd += ["--input", str(tmp / "lr.npy"), "--output", str(output), "--record", str(record)]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"tiled benchmark child ({name}) failed:\n{proc.stderr[-2000:]}")
    return json.loads(record.read_text()), np.load(output)


def bench(quick: bool = False) -> dict[str, Any]:
    from benchmarks.data_root import lr_photo
    from src.models.edsr import EDSR

    if quick:
        net, (h, w), tile = TINY, (48, 64), 24
    else:
        # 2 x 3 tiles of 340: the largest tile with its 68 pixels of context (476 x 408) is under a third of
        # the image (the bench must fit in 10 minutes on two cores).
        net, (h, w), tile = FULL, (678, 1020), 340
    overlap = EDSR(SCALE, **net).receptive_radius()  # what super_resolve uses when tile_overlap is not given
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        np.save(tmp_path / "lr.npy", lr_photo(h, w))
        whole, whole_sr = _run_variant(tmp_path, "untiled", net, 0, timeout=1800)
        tiled, tiled_sr = _run_variant(tmp_path, "tiled", net, tile, timeout=1800)
    diff = np.abs(whole_sr.astype(np.int16) - tiled_sr.astype(np.int16))
    return {
        "summary": f"peak {tiled['peak_mb']:.0f} vs {whole['peak_mb']:.0f} MB, {tiled['seconds']:.0f} vs "
        f"{whole['seconds']:.0f} s (tile {tile}, tile_overlap {overlap})",
        "tiled_peak_mem_ratio": tiled["peak_mb"] / whole["peak_mb"],
        "tiled_max_abs_diff": int(diff.max()),
        "tiled_time_ratio": tiled["seconds"] / whole["seconds"],
        "pixels_differing": float((diff > 0).mean()),
        "untiled": whole,
        "tiled": tiled,
        "setup": {
            "network": f"EDSR {net} x{SCALE}, seeded random init (torch.manual_seed({SEED}))",
            "input": f"{w}x{h} RGB LR: MATLAB-bicubic x2 of a {2 * w}x{2 * h} real-photo mosaic",
            "tile": tile,
            "tile_overlap": f"{overlap} (the default: the network's receptive radius)",
            "runs": "one per variant, each in a fresh process (peak memory is deterministic; timing is one pair)",
            "exactness": "the overlap covers the whole receptive field, so tiles are exact for any weights "
            "(tests/test_inference.py checks it with trained ones)",
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="internal: run one variant")
    parser.add_argument("--net", default=json.dumps(FULL))
    parser.add_argument("--input")
    parser.add_argument("--tile", type=int, default=0)
    parser.add_argument("--tile-overlap", type=int, default=None, help="default: the network's receptive radius")
    parser.add_argument("--output")
    parser.add_argument("--record")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        child(args)
    else:
        print(json.dumps(bench(args.quick), indent=2))


if __name__ == "__main__":
    main()

"""`make gpu-check`, evaluation: per-image PSNR/SSIM on the GPU equal to the CPU's, tiled and untiled, and the
GPU memory a 2K image takes with and without tiles.

The seeded network runs through the project's own inference (`super_resolve`: fp32, autocast off, tiles with
the receptive radius as context) and scoring (`score`: the protocol), on real photographs (Set14 HR when
present, else scikit-image's) made LR by the project's MATLAB bicubic, once on each device. Equal means every
image's PSNR (Y and RGB) within PSNR_TOLERANCE dB: the protocol rounds the output to uint8 levels, so the two
devices' summation orders may flip a few pixels by one level, and no more. `super_resolve` turns cuDNN's TF32
off for this (PyTorch runs fp32 convolutions in TF32 by default on Ampere and later).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from benchmarks.common import photos
from benchmarks.data_root import lr_photo
from benchmarks.gpu import sync
from benchmarks.gpu_check_plan import FULL, Plan, skipped
from src.data.imresize import downscale
from src.models.edsr import EDSR
from src.models.inference import super_resolve
from src.protocol.metrics import METRICS, quantize, score

SCALE = 2
PSNR_TOLERANCE = 1e-4  # dB per image, the acceptance bound
Scores = dict[str, dict[str, float]]


def _nchw(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()


def eval_pairs(plan: Plan) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name, LR, HR) as (1, 3, h, w) float tensors in 0..255, HR cropped to a multiple of the scale."""
    pairs = []
    for name, image in photos()[: plan.eval_images]:
        hr = image[: plan.eval_crop, : plan.eval_crop]
        hr = hr[: hr.shape[0] - hr.shape[0] % SCALE, : hr.shape[1] - hr.shape[1] % SCALE]
        pairs.append((name, _nchw(downscale(hr, SCALE)), _nchw(hr)))
    return pairs


def scores_on(net: EDSR, pairs: list, device: str, tile: int | None) -> Scores:
    net = net.to(device)
    out = {}
    for name, lr, hr in pairs:
        sr = super_resolve(net, lr.to(device), SCALE, tile)
        out[name] = {k: float(v[0]) for k, v in score(sr, hr.to(device), shave=SCALE).items()}
    return out


def max_diff(a: Scores, b: Scores, kind: str) -> float:
    return max(abs(a[n][k] - b[n][k]) for n in a for k in METRICS if k.startswith(kind))


def compare_devices(plan: Plan, net: EDSR, pairs: list) -> dict[str, Any]:
    """Device vs CPU, untiled and tiled: the largest per-image PSNR and SSIM differences."""
    out: dict[str, Any] = {}
    for label, tile in (("untiled", None), ("tiled", plan.eval_tile)):
        cpu = scores_on(net, pairs, "cpu", tile)
        dev = scores_on(net, pairs, plan.device, tile)
        out[label] = {
            "max_psnr_diff_db": max_diff(dev, cpu, "psnr"),
            "max_ssim_diff": max_diff(dev, cpu, "ssim"),
            "device_scores": dev,
        }
    out["tiled_vs_untiled_max_psnr_diff_db"] = max_diff(
        out["tiled"]["device_scores"], out["untiled"]["device_scores"], "psnr"
    )
    return out


def peak_memory(plan: Plan) -> dict[str, Any]:
    """CUDA allocator peak of EDSR full on a 2K image (LR `big_lr`, x2), untiled vs tiled."""
    if not plan.cuda:
        return skipped("CUDA allocator peaks need a CUDA device; the CPU's tiled peak is `make bench`'s tiled figure")
    torch.manual_seed(0)
    net = EDSR(SCALE, **FULL).cuda().eval()
    h, w = plan.big_lr
    lr = _nchw(lr_photo(h, w)).cuda()
    out, images = {}, {}
    for label, tile in (("untiled", None), ("tiled", plan.big_tile)):
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        t0 = time.perf_counter()
        sr = super_resolve(net, lr, SCALE, tile)
        sync(lr.device)
        seconds = time.perf_counter() - t0
        images[label] = quantize(sr).to(torch.uint8)
        out[label] = {"peak_gib": (torch.cuda.max_memory_allocated() - before) / 2**30, "seconds": seconds}
    diff = (images["tiled"].int() - images["untiled"].int()).abs()
    return {
        **out,
        "tiled_peak_mem_ratio": out["tiled"]["peak_gib"] / out["untiled"]["peak_gib"],
        "tiled_max_abs_diff": int(diff.max()),
        "setup": f"EDSR full x2, seeded, LR {w}x{h} -> SR {2 * w}x{2 * h}, tile {plan.big_tile}, "
        f"tile_overlap {net.receptive_radius()} (the receptive radius); peak = max_memory_allocated - before",
    }


def run(plan: Plan) -> dict[str, Any]:
    torch.manual_seed(0)
    net = EDSR(SCALE, **plan.eval_net).eval()
    pairs = eval_pairs(plan)
    devices = compare_devices(plan, net, pairs)
    worst = max(devices["untiled"]["max_psnr_diff_db"], devices["tiled"]["max_psnr_diff_db"])
    memory = peak_memory(plan)
    mem = (
        ""
        if "skipped" in memory
        else f"; 2K peak {memory['tiled']['peak_gib']:.2f} vs {memory['untiled']['peak_gib']:.2f} GiB"
    )
    return {
        "summary": f"{plan.device} vs cpu: max per-image PSNR diff {worst:.1e} dB (tolerance {PSNR_TOLERANCE:g})"
        + ("" if plan.cuda else " [both sides on the CPU: code path only]")
        + mem,
        "psnr_tolerance_db": PSNR_TOLERANCE,
        "max_psnr_diff_db": worst,
        "passed": worst <= PSNR_TOLERANCE,
        "devices": [plan.device, "cpu"],
        "comparison": devices,
        "tiled_peak_mem_ratio": memory.get("tiled_peak_mem_ratio"),
        "peak_memory": memory,
        "setup": {
            "network": f"EDSR {plan.eval_net} x{SCALE}, torch.manual_seed(0)",
            "images": [name for name, _, _ in pairs],
            "tile": plan.eval_tile,
        },
    }

"""`make bench-gpu`: training throughput and model FLOP utilisation (MFU) of EDSR full on one CUDA GPU.

    python -m benchmarks.gpu [--compile] [--peak-tflops T] [--scales 2 4] [--steps N] [--warmup N]
    python -m benchmarks.gpu --device cpu --steps 2 --tiny      # the same code path on a CPU, in seconds

The training step is the project's fast path (conf `fast.*` on a GPU): bf16 autocast, channels_last, fused
Adam, cudnn.benchmark, optionally torch.compile; batch 16 of 48x48 LR patches held on the device (the
model's speed, not the data loader's). FLOPs come from the convolutions (benchmarks/flops.py); MFU is the
achieved rate over the GPU's dense bf16 peak. Writes benchmarks/results_gpu.json. Exits 2 without CUDA.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.common import machine, now
from benchmarks.flops import train_step_flops
from src.models.edsr import EDSR, count_trainable

RESULTS = Path(__file__).resolve().parent / "results_gpu.json"
FULL = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1}
TINY = {"n_resblocks": 2, "n_feats": 8, "res_scale": 0.1}
# Dense bf16 tensor-core peaks (TFLOP/s) from the vendors' data sheets, matched against the device name in
# this order (more specific names first).
PEAK_BF16_TFLOPS = (
    ("H200", 989.0),
    ("GH200", 989.0),
    ("H100 NVL", 835.0),
    ("H100 PCIe", 756.0),
    ("H100", 989.0),  # SXM
    ("A100", 312.0),
    ("L40S", 362.0),
    ("L40", 181.0),
    ("L4", 121.0),
)


def known_peak(device_name: str) -> float | None:
    for key, peak in PEAK_BF16_TFLOPS:
        if key.lower() in device_name.lower():
            return peak
    return None


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_step(
    net: nn.Module,
    opt: torch.optim.Optimizer,
    lr: torch.Tensor,
    hr: torch.Tensor,
    autocast: torch.dtype | None = None,
    read_loss: bool = False,
) -> Callable[[], None]:
    """One hand-written training step: zero_grad, forward (under `autocast` if given), L1, backward, step.
    `read_loss` copies the loss to the host every step, as EDSR-PyTorch's loss log does (`loss.item()`)."""
    loss_fn = nn.L1Loss()

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast(lr.device.type, dtype=autocast) if autocast else nullcontext():
            loss = loss_fn(net(lr), hr)
        loss.backward()
        opt.step()
        if read_loss:
            loss.item()

    return step


def timed(step: Callable[[], None], warmup: int, steps: int, device: torch.device) -> dict[str, float]:
    """Steps per second of `steps` calls of `step` after `warmup` untimed ones (cudnn autotune, compile)."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        step()
    sync(device)
    warmup_s = time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return {"iterations_per_s": steps / (time.perf_counter() - t0), "warmup_seconds": warmup_s}


def bench_scale(scale: int, args: argparse.Namespace, device: torch.device, peak: float | None) -> dict[str, Any]:
    torch.manual_seed(0)
    preset = TINY if args.tiny else FULL
    net = EDSR(scale, **preset).to(device, memory_format=torch.channels_last)
    lr = (torch.rand(args.batch, 3, args.patch, args.patch, device=device) * 255).contiguous(
        memory_format=torch.channels_last
    )
    hr = torch.rand(args.batch, 3, args.patch * scale, args.patch * scale, device=device) * 255
    flops = train_step_flops(net, lr)
    model = torch.compile(net) if args.compile else net
    opt = torch.optim.Adam(
        [p for p in net.parameters() if p.requires_grad], lr=1e-4, fused=True if device.type == "cuda" else None
    )
    rate = timed(plain_step(model, opt, lr, hr, torch.bfloat16), args.warmup, args.steps, device)
    its = rate["iterations_per_s"]
    achieved = flops * its / 1e12
    return {
        "scale": scale,
        "params": count_trainable(net),
        "flops_per_step": flops,
        "iterations_per_s": its,
        "samples_per_s": its * args.batch,
        "achieved_tflops": achieved,
        "mfu": achieved / peak if peak else None,
        "steps": args.steps,
        "warmup_steps": args.warmup,
        "warmup_seconds": rate["warmup_seconds"],
        "peak_memory_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="EDSR full training it/s and MFU on one GPU.")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu (code path check)")
    parser.add_argument("--scales", type=int, nargs="+", default=[2, 4])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48, help="LR patch size")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per scale")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (cudnn autotune, compile)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the network")
    parser.add_argument("--peak-tflops", type=float, help="dense bf16 peak of this GPU (default: known table)")
    parser.add_argument("--tiny", action="store_true", help="a 2-block, 8-feature EDSR (tests)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"bench-gpu: no CUDA device (torch {torch.__version__}); run it on a GPU machine", file=sys.stderr)
        return 2
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        name = torch.cuda.get_device_name(device)
    else:
        name = f"CPU: {machine()['cpu']}"
    peak = args.peak_tflops if args.peak_tflops is not None else (known_peak(name) if device.type == "cuda" else None)
    if device.type == "cuda" and peak is None:
        print(f"bench-gpu: no known bf16 peak for {name!r}; pass --peak-tflops", file=sys.stderr)
        return 2
    print(
        f"{name}: EDSR {'tiny' if args.tiny else 'full'}, batch {args.batch}, LR patch {args.patch}, bf16 autocast, "
        f"channels_last{', compiled' if args.compile else ''}; peak {peak} TFLOP/s",
        flush=True,
    )
    runs = []
    for scale in args.scales:
        res = bench_scale(scale, args, device, peak)
        runs.append(res)
        mfu = f"{100 * res['mfu']:.1f}%" if res["mfu"] is not None else "-"
        print(
            f"x{scale}: {res['iterations_per_s']:.2f} it/s, {res['achieved_tflops']:.1f} TFLOP/s, MFU {mfu}", flush=True
        )
    record = {
        "date": now(),
        "device": name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
        "peak_bf16_tflops": peak,
        "settings": {
            "network": "tiny" if args.tiny else "EDSR full (32 blocks, 256 features, res_scale 0.1)",
            "batch": args.batch,
            "lr_patch": args.patch,
            "precision": "bf16 autocast",
            "channels_last": True,
            "fused_adam": device.type == "cuda",
            "cudnn_benchmark": device.type == "cuda",
            "compile": args.compile,
            "flops": "convolutions only, 2*k*k*Cin*Cout*Hout*Wout per conv, x3 for forward+backward",
        },
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`make gpu-check`, speed: the project's training step against EDSR-PyTorch's way of training, same run.

A, the project: a `src.train` job's step as it runs by default on a GPU (Lightning Trainer + SRModule +
SRDataModule with its loader workers; bf16-mixed, channels_last, fused Adam, cudnn.benchmark from `fast.*:
auto`), timed after `speed_warmup` steps.
B, the loop EDSR-PyTorch's `trainer.py` runs: zero_grad, forward, L1, backward, Adam step, and the loss read on
the host every step (its loss log calls `loss.item()`); fp32, PyTorch's default Adam, cudnn.benchmark left off
(its `main.py` sets none of these); one batch of the project's own patches kept on the device, so B pays nothing
for data. C: the same loop under bf16 autocast.
Same seeded network, batch, patch and optimiser settings. FLOPs are the convolutions' (benchmarks/flops.py);
MFU is against the GPU's dense bf16 peak (benchmarks/gpu.py), for every variant.
"""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from benchmarks.flops import train_step_flops
from benchmarks.gpu import known_peak, plain_step, timed
from benchmarks.gpu_check_plan import Plan, skipped, with_settings
from benchmarks.train_speed import SEED, StepTimer, fit_project, loader_batches

AUTO = {k: "auto" for k in ("fast.precision", "fast.channels_last", "fast.cudnn_benchmark", "fast.fused_adam")}


class SyncedStepTimer(StepTimer):
    """StepTimer that waits for the GPU at the first and last timed step (and nowhere else, so the project's
    loop keeps its own host-device overlap): a host clock alone would time kernels still queued."""

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if torch.cuda.is_available() and trainer.global_step in (self.warmup, trainer.max_steps):
            torch.cuda.synchronize()
        super().on_train_batch_end(trainer, *args)


def _project(cfg: DictConfig, plan: Plan) -> float:
    timer = SyncedStepTimer(plan.speed_warmup)
    fit_project(cfg, [timer])
    return timer.steps / (timer.t1 - timer.t0)


def _edsr_pytorch_loop(cfg: DictConfig, plan: Plan, autocast: torch.dtype | None) -> tuple[float, int]:
    """Steps/s of EDSR-PyTorch's loop, and the FLOPs of one step."""
    torch.manual_seed(SEED)
    device = torch.device(plan.device)
    net = instantiate(cfg.model.net).to(device)
    lr, hr = (t.to(device) for t in loader_batches(cfg)[0])
    optim = cfg.optim
    opt = torch.optim.Adam(net.parameters(), lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps)
    flops = train_step_flops(net, lr)
    torch.backends.cudnn.benchmark = False  # the Trainer of run A turned it on for the process
    step = plain_step(net, opt, lr, hr, autocast, read_loss=True)
    return timed(step, plan.speed_warmup, plan.speed_steps, device)["iterations_per_s"], flops


def run(plan: Plan, cfg: DictConfig) -> dict[str, Any]:
    steps = plan.speed_warmup + plan.speed_steps
    cfg = with_settings(cfg, {**AUTO, "trainer.max_steps": steps, "data.steps_per_epoch": steps})
    project_its = _project(cfg, plan)
    fp32_its, flops = _edsr_pytorch_loop(cfg, plan, None)
    bf16_its, _ = _edsr_pytorch_loop(cfg, plan, torch.bfloat16)
    rates = {"project": project_its, "edsr_pytorch_fp32": fp32_its, "edsr_pytorch_bf16": bf16_its}
    name = torch.cuda.get_device_name() if plan.cuda else "cpu"
    peak = known_peak(name) if plan.cuda else None
    variants: dict[str, Any] = {}
    for key, its in rates.items():
        tflops = flops * its / 1e12
        variants[key] = {
            "steps_per_s": its,
            "images_per_s": its * plan.batch,
            "achieved_tflops": tflops,
            "mfu": tflops / peak if peak else None,
        }
    mfu_note = (
        None
        if peak
        else skipped(
            "MFU is measured against a GPU's dense bf16 peak: "
            + (
                "no CUDA device"
                if not plan.cuda
                else f"no known peak for {name!r} (benchmarks/gpu.py PEAK_BF16_TFLOPS)"
            )
        )
    )
    return {
        "summary": f"project {project_its * plan.batch:.1f} img/s = {project_its / fp32_its:.2f}x EDSR-PyTorch fp32, "
        f"{project_its / bf16_its:.2f}x its bf16 loop" + (f", MFU {variants['project']['mfu']:.1%}" if peak else ""),
        "speed_vs_edsr_pytorch_fp32": project_its / fp32_its,
        "speed_vs_edsr_pytorch_bf16": project_its / bf16_its,
        "project_mfu": variants["project"]["mfu"],
        "mfu": mfu_note or {"peak_bf16_tflops": peak},
        "flops_per_step": flops,
        "variants": variants,
        "cudnn_conv_fp32_precision": getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None),
        "tf32_note": "PyTorch's default, kept by all three: training's fp32 convolutions run in TF32 on Ampere+",
        "setup": {
            "network": f"EDSR {plan.net}, x2",
            "batch": plan.batch,
            "lr_patch": plan.patch,
            "warmup_steps": plan.speed_warmup,
            "timed_steps": plan.speed_steps,
            "project": "fast.*: auto (bf16-mixed, channels_last, fused Adam, cudnn.benchmark on CUDA), loader "
            f"workers {cfg.data.num_workers}",
            "edsr_pytorch": "zero_grad, forward, L1, backward, Adam.step, loss.item() each step; one batch on device",
        },
    }

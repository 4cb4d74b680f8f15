"""What `make gpu-check` runs, and at which sizes: the real ones on CUDA, tiny ones on a CPU.

Every section reads its sizes from one `Plan`, so the CPU run (tests, machines without a GPU) goes through the
very code the GPU run does, only smaller. A piece that needs CUDA (NCCL, MFU against a GPU's bf16 peak, CUDA
allocator peaks, k jobs sharing one GPU's memory) is recorded as `{"skipped": <reason>}` on a CPU, never faked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict

NOT_MEASURED = "GPU figures not measured (no CUDA device)"
FULL = {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1}  # EDSR full (the paper's network)
BASELINE = {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0}
TINY = {"n_resblocks": 2, "n_feats": 8, "res_scale": 0.1}


@dataclass(frozen=True)
class Plan:
    cuda: bool
    net: dict[str, Any]  # the network of the fast-path curves and the throughput figures
    batch: int
    patch: int  # LR patch
    curve_steps: int  # steps of each fast-path curve
    curve_window: int  # steps per window of the curve comparison
    speed_warmup: int
    speed_steps: int
    eval_net: dict[str, Any]  # the seeded network scored on GPU and CPU
    eval_images: int
    eval_crop: int  # HR crop (top-left) of each evaluation image
    eval_tile: int
    big_lr: tuple[int, int]  # LR size of the peak-memory image (x2 gives a 2K image)
    big_tile: int
    sweep_steps: int
    share_ks: tuple[int, ...]
    share_models: dict[str, dict[str, Any]] = field(default_factory=dict)  # model -> overrides

    @property
    def device(self) -> str:
        return "cuda" if self.cuda else "cpu"


def make_plan(cuda: bool) -> Plan:
    if cuda:
        return Plan(
            cuda=True,
            net=FULL,
            batch=16,
            patch=48,
            curve_steps=200,  # six runs (one compiled) must leave the 8-minute budget room for the sweeps
            curve_window=20,
            speed_warmup=20,
            speed_steps=60,
            eval_net=BASELINE,
            eval_images=5,
            eval_crop=384,  # bounds the CPU side's time
            eval_tile=64,
            big_lr=(678, 1020),  # x2 -> 1356 x 2040, a DIV2K-sized 2K image
            big_tile=340,
            sweep_steps=100,
            share_ks=(1, 2, 4),
            # EDSR's own patch for the baseline; the demo's small patch for the demo network (its regime).
            share_models={"edsr_demo": {"data.patch_size": 16}, "edsr_baseline": {"data.patch_size": 48}},
        )
    return Plan(
        cuda=False,
        net=TINY,
        batch=2,
        patch=12,
        curve_steps=8,
        curve_window=4,
        speed_warmup=1,
        speed_steps=3,
        eval_net=TINY,
        eval_images=2,
        eval_crop=48,
        eval_tile=12,
        big_lr=(24, 32),
        big_tile=12,
        sweep_steps=4,
        share_ks=(2,),  # two jobs side by side prove the launcher; each more sweep costs a CLI start-up
        share_models={"edsr_demo": {"data.patch_size": 12, "model.net.n_resblocks": 1, "model.net.n_feats": 8}},
    )


def skipped(reason: str) -> dict[str, str]:
    return {"skipped": reason}


def with_settings(cfg: DictConfig, settings: Mapping[str, Any]) -> DictConfig:
    """A copy of a composed config with dotted keys set (new keys allowed)."""
    cfg = cfg.copy()
    with open_dict(cfg):
        for key, value in settings.items():
            OmegaConf.update(cfg, key, value, merge=False)
    return cfg

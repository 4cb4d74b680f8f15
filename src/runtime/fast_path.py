"""The CUDA fast path: every `auto` setting of `cfg.fast` is on when the job trains on a GPU."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from omegaconf import DictConfig


@dataclass(frozen=True)
class FastPath:
    precision: str
    channels_last: bool
    cudnn_benchmark: bool
    fused_adam: bool
    compile: bool


def _on_gpu(trainer_cfg: DictConfig) -> bool:
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    if accelerator in ("gpu", "cuda"):
        return True
    return accelerator == "auto" and torch.cuda.is_available()


def resolve(fast: DictConfig, trainer_cfg: DictConfig) -> FastPath:
    gpu = _on_gpu(trainer_cfg)

    def pick(key: str, on: object, off: object) -> object:
        value = fast.get(key, "auto")
        return (on if gpu else off) if value == "auto" else value

    return FastPath(
        precision=str(pick("precision", "bf16-mixed", "32-true")),
        channels_last=bool(pick("channels_last", True, False)),
        cudnn_benchmark=bool(pick("cudnn_benchmark", True, False)),
        fused_adam=bool(pick("fused_adam", True, False)),
        compile=bool(fast.get("compile", False)),
    )

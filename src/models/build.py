"""The network an entry point scores or runs: the configured model with its weights, on the chosen device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from src.errors import UserError


def pick_device(spec: str) -> torch.device:
    """`auto` is CUDA where there is one, else the CPU; anything else is a torch device string."""
    if spec != "auto":
        return torch.device(spec)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(cfg: Any) -> torch.nn.Module:
    """The configured network with its weights (`ckpt=`), or bicubic, in eval mode."""
    from src.models.weights import load_weights, read_state_dict

    net = instantiate(cfg.model.net)
    if cfg.model.name == "bicubic":
        return net.eval()
    if not cfg.get("ckpt"):
        raise UserError(
            f"model={cfg.model.name} needs weights: pass ckpt=<file>.ckpt (ours) or ckpt=<official EDSR .pt>, "
            "or score the baseline with model=bicubic"
        )
    path = Path(cfg.ckpt)
    load_weights(net, read_state_dict(path), path)
    return net.eval()

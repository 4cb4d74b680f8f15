"""The network an entry point scores or runs: the configured model with its weights, on the chosen device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from src.contracts.errors import UserError

# What must agree between a checkpoint and the request that scores it (seed, precision and steps may differ).
MATCHED = ("model", "activation", "scale")


def pick_device(spec: str) -> torch.device:
    """`auto` is CUDA where there is one, else the CPU; anything else is a torch device string."""
    if spec != "auto":
        return torch.device(spec)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(cfg: Any, request: dict[str, Any]) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """The configured network with its weights (`ckpt=`), or bicubic, in eval mode, and the identity of the
    job that wrote the weights (None for bicubic and files without one, such as the official EDSR weights).

    A checkpoint of ours that another model, activation or scale wrote is refused (`request` is the
    `job_identity` of what is asked for), unless `allow_mismatch=true`: scores must carry the right label.
    """
    from src.models.weights import load_weights, read_state_dict

    net = instantiate(cfg.model.net)
    if cfg.model.name == "bicubic":
        return net.eval(), None
    if not cfg.get("ckpt"):
        raise UserError(
            f"model={cfg.model.name} needs weights: pass ckpt=<file>.ckpt (ours) or ckpt=<official EDSR .pt>, "
            "or score the baseline with model=bicubic"
        )
    path = Path(cfg.ckpt)
    state, source = read_state_dict(path)
    if source is not None and not cfg.get("allow_mismatch", False):
        check_identity(path, source, request)
    load_weights(net, state, path)
    return net.eval(), source


def _describe(identity: dict[str, Any]) -> str:
    return " ".join(f"{k}={identity.get(k)}" for k in MATCHED)


def check_identity(path: Path, source: dict[str, Any], request: dict[str, Any]) -> None:
    if any(source.get(k) != request.get(k) for k in MATCHED):
        raise UserError(
            f"{path} was trained as {_describe(source)} but this run asks for {_describe(request)}; pass the "
            "checkpoint's settings, or allow_mismatch=true to score it anyway (results.json records both)"
        )

"""The network an entry point scores or runs: the configured model with its weights, on the chosen device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate

from src.contracts.errors import UserError
from src.contracts.identity import describe_differences, from_stamp, weights_differences


def pick_device(spec: str) -> torch.device:
    """`auto` is CUDA where there is one, else the CPU; anything else is a torch device string."""
    if spec != "auto":
        return torch.device(spec)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(cfg: Any, request: dict[str, Any]) -> tuple[torch.nn.Module, dict[str, Any] | None]:
    """The configured network with its weights (`ckpt=`), or bicubic, in eval mode, and the identity of the
    job that wrote the weights (None for bicubic and files without one, such as the official EDSR weights).

    A checkpoint of ours whose network (`src.contracts.identity.weights_differences`: model and size,
    activation, scale) is not the one asked for (`request` is the `job_identity` of the config) is refused,
    unless `allow_mismatch=true`: scores must carry the right label.
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


def check_identity(path: Path, stamp: dict[str, Any], request: dict[str, Any]) -> None:
    """One line naming the keys on which the checkpoint's network and the requested one differ."""
    keys = weights_differences(stamp, request)
    if keys:
        theirs = from_stamp(stamp)
        raise UserError(
            f"{path} holds another network than this run asks for "
            f"({describe_differences(_only(theirs, keys), _only(request, keys))}; "
            "checkpoint vs this run); pass the checkpoint's settings, or allow_mismatch=true to score it anyway "
            "(its results record both identities)"
        )


def _only(identity: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    return {k: identity[k] for k in keys if k in identity}

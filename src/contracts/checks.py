"""Checks of a request's values before any work starts, each failing with one line that names the fix.

Each entry point calls its check first, on the composed config: a value of the wrong kind (`seed=abc`,
`optim.lr=-1`, `max_steps=1.5`, `self_ensemble=maybe`, `device=banana`) is refused here, before any data is
built or any weight loaded, instead of as a traceback at the first step or the first validation (or, worse,
silently: `max_steps=1.5` running 2 steps, `steps_per_epoch=0` finishing untrained, `maybe` meaning true).
"""

from __future__ import annotations

import math
from typing import Any

from src.contracts.errors import UserError
from src.data.layout import SUPPORTED_SCALES, check_scale


def checked_scale(value: Any) -> int:
    """`scale=` as an int, refusing text such as `scale=abc` with the choices instead of a ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        value = str(value)
    try:
        scale = int(value)
    except (TypeError, ValueError):
        choices = ", ".join(str(s) for s in SUPPORTED_SCALES)
        raise UserError(f"scale={value} is not a number; use scale= one of {choices}") from None
    check_scale(scale)
    return scale


def whole(name: str, value: Any, minimum: int, optional: bool = False) -> None:
    """A whole number of at least `minimum` (1.5, true and text are refused; None too unless `optional`)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        least = "at least 1" if minimum == 1 else f"{minimum} or more"
        also = " (or null)" if optional else ""
        raise UserError(f"{name}={value} must be a whole number of {least}{also}; set {name}= to such a value")


def number(name: str, value: Any, positive: bool = True, optional: bool = False) -> None:
    """A finite real number, above 0 if `positive` (else 0 or more)."""
    if value is None and optional:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (positive and value == 0):
        kind = "a number above 0" if positive else "a number of 0 or more"
        raise UserError(f"{name}={value} must be {kind}; set {name}= to such a value")


def flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise UserError(f"{name}={value} is not true or false; set {name}=true or {name}=false")


def check_activation(cfg: Any) -> None:
    """Parameters of the activation: numbers where the default is one, and values its module runs with."""
    from omegaconf import OmegaConf

    from src.models.activations import ACTIVATIONS, make_activation

    name = cfg.activation.name
    params = OmegaConf.to_container(cfg.activation.params, resolve=True) if cfg.activation.get("params") else {}
    if name not in ACTIVATIONS:
        return  # Hydra's own message (the group's choices) comes first for unknown names
    for key, value in params.items():
        default = ACTIVATIONS[name].defaults.get(key)
        if isinstance(default, int | float) and not isinstance(default, bool):
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not ok:
                raise UserError(f"activation.params.{key}={value} is not a number; set it to one (default {default})")
    try:
        import torch

        make_activation(name, 1, **params)(torch.zeros(1, 1, 2, 2))  # some modules check only when they run
    except (TypeError, ValueError, RuntimeError) as err:
        raise UserError(f"activation {name} does not take {params} ({err}); fix activation.params") from None


def _check_inference(cfg: Any) -> None:
    """Tiling of validation/test/inference: a tile of at least 1 LR pixel, context of 0 or more, or null."""
    whole("tile", cfg.get("tile"), 1, optional=True)
    whole("tile_overlap", cfg.get("tile_overlap"), 0, optional=True)
    whole("data.max_pixels", cfg.data.get("max_pixels"), 1, optional=True)


def _check_optim(optim: Any) -> None:
    number("optim.lr", optim.lr)
    number("optim.gamma", optim.get("gamma", 0.5))
    number("optim.eps", optim.get("eps", 1e-8), positive=False)
    number("optim.weight_decay", optim.get("weight_decay", 0.0), positive=False)
    number("optim.skip_threshold", optim.get("skip_threshold"), optional=True)
    for beta in optim.get("betas") or []:
        if not (isinstance(beta, int | float) and 0 <= beta < 1):
            raise UserError(f"optim.betas={list(optim.betas)} must be two numbers in [0, 1); set optim.betas=")
    for milestone in optim.get("milestones") or []:
        whole("optim.milestones", milestone, 1)


def check_training(cfg: Any) -> None:
    """A training request that can run and can finish: a scale, a seed, at least one step, non-empty batches,
    a learning rate, and inference settings validation and test will accept."""
    checked_scale(cfg.scale)
    whole("seed", cfg.seed, 0)
    whole("trainer.max_steps", cfg.trainer.max_steps, 1)
    for key in ("batch_size", "patch_size", "steps_per_epoch"):
        whole(f"data.{key}", cfg.data.get(key), 1)
    whole("data.num_workers", cfg.data.get("num_workers", 0), 0)
    for key in ("train_images", "val_images"):
        whole(f"data.{key}", cfg.data.get(key), 1, optional=True)
    flag("force", cfg.get("force", False))
    _check_optim(cfg.optim)
    _check_inference(cfg)
    check_activation(cfg)


def check_scoring(cfg: Any) -> None:
    """`src.evaluate` and `src.upscale`: scale, seed (or null), tiling, switches, device, activation."""
    checked_scale(cfg.scale)
    whole("seed", cfg.get("seed"), 0, optional=True)
    _check_inference(cfg)
    for key in ("self_ensemble", "allow_mismatch", "force"):
        if key in cfg:
            flag(key, cfg[key])
    check_device(cfg.get("device", "auto"))
    check_activation(cfg)


def check_device(spec: Any) -> None:
    """`device=`: auto, cpu, or a CUDA (MPS) device this machine has."""
    import torch

    spec = str(spec)
    if spec == "auto":
        return
    try:
        device = torch.device(spec)
    except (RuntimeError, ValueError):
        raise UserError(f"device={spec} is not a device; use device=auto, cpu, cuda or cuda:N") from None
    available = {
        "cpu": 1,
        "cuda": torch.cuda.device_count() if torch.cuda.is_available() else 0,
        "mps": int(torch.backends.mps.is_available()),
    }
    count = available.get(device.type)
    if count is None:
        raise UserError(f"device={spec}: {device.type} is not supported here; use device=auto, cpu or cuda")
    if count == 0 or (device.index is not None and device.index >= count):
        raise UserError(
            f"device={spec} is not available on this machine ({count} {device.type} device(s)); "
            "use device=auto or device=cpu"
        )

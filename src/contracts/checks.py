"""Checks of a request's numbers before any work starts, each failing with one line that names the fix."""

from __future__ import annotations

from typing import Any

from src.contracts.errors import UserError
from src.data.layout import SUPPORTED_SCALES, check_scale


def checked_scale(value: Any) -> int:
    """`scale=` as an int, refusing text such as `scale=abc` with the choices instead of a ValueError."""
    try:
        scale = int(value)
    except (TypeError, ValueError):
        choices = ", ".join(str(s) for s in SUPPORTED_SCALES)
        raise UserError(f"scale={value} is not a number; use scale= one of {choices}") from None
    check_scale(scale)
    return scale


def _at_least_one(name: str, value: Any) -> None:
    try:
        ok = int(value) >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise UserError(f"{name}={value} must be a whole number of at least 1; set {name}= to a positive value")


def check_training(cfg: Any) -> None:
    """A training request that can run and can finish: a scale, at least one step, non-empty batches."""
    checked_scale(cfg.scale)
    _at_least_one("trainer.max_steps", cfg.trainer.max_steps)
    _at_least_one("data.batch_size", cfg.data.batch_size)
    _at_least_one("data.patch_size", cfg.data.patch_size)

"""OmegaConf resolvers the configs use; every Hydra entry point calls `register()` before composition."""

from __future__ import annotations

import secrets
import sys

from omegaconf import OmegaConf


def register() -> None:
    """Register (idempotently) the `${uid:}`, `${isatty:}` and `${max_pixels:}` resolvers."""
    from src.data.images import DEFAULT_MAX_PIXELS

    # Cached per config, like Hydra's own `now`: one value per launch, shared by every job of a sweep.
    OmegaConf.register_new_resolver("uid", lambda: secrets.token_hex(3), use_cache=True, replace=True)
    # A redrawn progress bar only where someone watches it; logs get plain lines (src/runtime/progress.py).
    OmegaConf.register_new_resolver("isatty", lambda: sys.stdout.isatty(), replace=True)
    # The decompression-bomb limit lives once, in Python (src/data/images.py); configs read it as `${max_pixels:}`.
    OmegaConf.register_new_resolver("max_pixels", lambda: DEFAULT_MAX_PIXELS, replace=True)

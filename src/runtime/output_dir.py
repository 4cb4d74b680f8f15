"""A Hydra callback that checks the run's output folder before Hydra creates it, so that a path that cannot be
a writable folder is one line (exit 2) instead of Hydra's traceback from inside its job runner."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from src.contracts.errors import user_message


def check_output_dir(path: Path, setting: str) -> None:
    """Create `path` (as Hydra would) and check it is writable; else `error: ...` and exit 2."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
        if not os.access(path, os.W_OK):
            raise PermissionError(13, "Permission denied", str(path))
    except OSError as err:
        message = user_message(err) or f"cannot use {path} ({err})"
        print(f"error: output folder: {message} (set {setting}=)", file=sys.stderr, flush=True)
        raise SystemExit(2) from None


class CheckOutputDir(Callback):
    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_output_dir(Path(config.hydra.run.dir), "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        check_output_dir(Path(config.hydra.sweep.dir), "hydra.sweep.dir")

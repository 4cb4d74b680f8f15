"""A job's checkpoints on disk: written atomically, and on resume the newest one that can be read.

A checkpoint cut short (full disk, killed copy, cross-filesystem move) must neither be mistaken for a good
one nor block the job: it is moved aside under a `.damaged` name (kept for inspection, never deleted) and
the job resumes from the newest readable checkpoint it has, or starts over.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from src.contracts.atomic import atomic_write
from src.contracts.rundir import RunDir
from src.models.weights import DamagedCheckpointError, read_checkpoint

LAST = RunDir(Path()).last_checkpoint.name  # the name is RunDir's (Lightning's `save_last` name)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temporary file in the same directory, fsync and rename."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        atomic_write(Path(path), lambda f: torch.save(checkpoint, f))


def _candidates(directory: Path) -> list[Path]:
    """`last.ckpt` first, then the step checkpoints, newest first."""
    steps = sorted(directory.glob("step*.ckpt"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    last = directory / LAST
    return ([last] if last.is_symlink() or last.exists() else []) + steps


def _set_aside(path: Path, reason: str) -> None:
    real = path.resolve()
    aside = real.with_name(f"{real.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    real.rename(aside)
    if path.is_symlink():
        path.unlink()  # the link only; its file is kept above
    print(f"{path}: unreadable checkpoint ({reason}); kept it as {aside.name}", flush=True)


def prepare_resume(directory: Path) -> Path | None:
    """Make `last.ckpt` the newest readable checkpoint in `directory` and return it (None: start over).

    Unreadable ones are set aside with one line each; a file that would run code when unpickled stops the
    job (`UnsafeCheckpointError`). Runs once per job, before its ranks start, which then resume from
    `last.ckpt` (Lightning's own name for it).
    """
    directory = Path(directory)
    last = directory / LAST
    if last.is_symlink() and not last.exists():
        print(f"{last}: link to a missing file ({last.readlink()}); removed the link", flush=True)
        last.unlink()
    if not directory.is_dir():
        return None
    for path in _candidates(directory):
        if not path.exists():
            continue  # the file behind last.ckpt, set aside just before
        try:
            read_checkpoint(path)
        except DamagedCheckpointError as err:
            _set_aside(path, err.reason)
            continue
        if path != last:
            last.symlink_to(path.name)  # relative, as Lightning links it
            print(f"resuming from the newest readable checkpoint, {path.name}", flush=True)
        return last
    return None

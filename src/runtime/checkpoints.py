"""A job's checkpoints on disk: written atomically with a checksum, and on resume the newest one that can be read.

A checkpoint cut short (full disk, killed copy, cross-filesystem move), garbled, or whose bytes no longer
match the SHA-256 recorded when it was written (bit rot) must neither be mistaken for a good one nor block the
job: it is moved aside under a `.damaged` name (kept for inspection, never deleted) and the job resumes from
the newest readable checkpoint it has, or starts over. Links are never followed out of the folder: one that
points elsewhere (planted, not Lightning's `last.ckpt` -> `stepN.ckpt`) is itself set aside, its target untouched.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO

from src.contracts.atomic import atomic_write
from src.contracts.checksum import embed_sha256
from src.contracts.errors import UserError
from src.contracts.rundir import RunDir
from src.models.weights import DamagedCheckpointError, UnsafeCheckpointError, read_checkpoint

LAST = RunDir(Path()).last_checkpoint.name  # the name is RunDir's (Lightning's `save_last` name)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's checkpoint writer, through a temporary file in the same directory, fsync and rename, with
    the SHA-256 of its contents embedded (src.contracts.checksum) for every later read to check."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        atomic_write(Path(path), lambda f: torch.save(checkpoint, f), before_replace=embed_sha256)


def _inside(path: Path, directory: Path) -> bool:
    """A plain file of `directory`, or a link to one there (what Lightning's `save_last: link` makes)."""
    if not path.is_symlink():
        return True
    target = Path(os.path.realpath(path))
    return target.parent == Path(os.path.realpath(directory)) and not target.is_symlink()


def _candidates(directory: Path) -> list[Path]:
    """`last.ckpt` first, then the step checkpoints, newest first."""
    steps = sorted(directory.glob("step*.ckpt"), key=lambda p: p.lstat().st_mtime_ns, reverse=True)
    last = directory / LAST
    return ([last] if last.is_symlink() or last.exists() else []) + steps


def _set_aside(path: Path, reason: str) -> None:
    """Rename the damaged file (through a link of ours: the file it names; a foreign link: the link itself)
    to `<name>.damaged-<time>`."""
    real = Path(os.path.realpath(path)) if path.is_symlink() and _inside(path, path.parent) else path
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = real.with_name(f"{real.name}.damaged-{stamp}"), 1
    while aside.exists() or aside.is_symlink():  # never over an earlier one set aside in the same second
        aside, n = real.with_name(f"{real.name}.damaged-{stamp}-{n}"), n + 1
    real.rename(aside)
    if path.is_symlink():
        path.unlink()  # the link only; its file is kept above
    print(f"{path}: unreadable checkpoint ({reason}); kept it as {aside.name}", flush=True)


def _check_folder(directory: Path) -> None:
    if directory.is_symlink():
        raise UserError(
            f"{directory} is a symbolic link to {os.readlink(directory)}; this tool writes checkpoints only into "
            "a folder of the job: replace the link with a folder (move its contents in) and rerun"
        )


def prepare_resume(directory: Path) -> Path | None:
    """Make `last.ckpt` the newest readable checkpoint in `directory` and return it (None: start over).

    Unreadable ones are set aside with one line each; a file that would run code when unpickled stops the
    job (`UnsafeCheckpointError`). Runs once per job, before its ranks start, which then resume from
    `last.ckpt` (Lightning's own name for it).
    """
    directory = Path(directory)
    _check_folder(directory)
    last = directory / LAST
    if not directory.is_dir():
        return None
    for path in _candidates(directory):
        if path.is_symlink() and not path.exists():
            print(f"{path}: link to a missing file ({os.readlink(path)}); removed the link", flush=True)
            path.unlink()
            continue
        if not path.exists():
            continue  # the file behind last.ckpt, set aside just before
        if not _inside(path, directory):
            _set_aside(path, f"a link to {os.readlink(path)}, outside this job's checkpoints; its target is untouched")
            continue
        try:
            read_checkpoint(path)
        except DamagedCheckpointError as err:
            _set_aside(path, err.reason)
            continue
        except UnsafeCheckpointError as err:
            advice = f"this tool never writes such a file: move it out of {directory} and rerun"
            raise UnsafeCheckpointError(path, err.culprit, advice) from None
        if path != last:
            last.symlink_to(path.name)  # relative, as Lightning links it
            print(f"resuming from the newest readable checkpoint, {path.name}", flush=True)
        return last
    return None

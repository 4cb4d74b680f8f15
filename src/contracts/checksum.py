"""A SHA-256 sidecar `<file>.sha256` beside each checkpoint the tool writes, verified whenever one is read.

A checkpoint is a zip of pickled metadata and raw tensor bytes: a flipped bit in the tensor bytes loads as
silently altered weights, one in the pickle as a confusing error. The digest turns both into "damaged".

The sidecar may list more than one digest: before a new file is renamed over the old one, the sidecar lists
the new digest and the old ones, then only the new one. A crash between the two renames therefore leaves a
file whose digest is listed, whichever of the two it is, and never a good file flagged as damaged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from src.contracts.atomic import atomic_write

SUFFIX = ".sha256"
_KEEP = 4  # digests a sidecar lists at most (the new one, then those a crash may have left valid)


def sidecar(path: Path) -> Path:
    return Path(path).with_name(Path(path).name + SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def listed(path: Path) -> list[str]:
    """The digests the sidecar of `path` lists (none: no sidecar, or an unreadable one)."""
    try:
        text = sidecar(path).read_text(errors="replace")
    except OSError:
        return []
    return [line.split()[0] for line in text.splitlines() if line.strip()]


def write_checked(target: Path, write: Callable[[BinaryIO], None]) -> Path:
    """`atomic_write` plus the sidecar, crash-safe in either order (see the module's docstring)."""
    target = Path(target)
    new: list[str] = []

    def list_both(tmp: Path) -> None:
        new.append(file_sha256(tmp))
        digests = [new[0], *(d for d in listed(target) if d != new[0])][:_KEEP]
        atomic_write(sidecar(target), lambda f: f.write("".join(f"{d}  {target.name}\n" for d in digests).encode()))

    atomic_write(target, write, before_replace=list_both)
    atomic_write(sidecar(target), lambda f: f.write(f"{new[0]}  {target.name}\n".encode()))
    return target


def mismatch(path: Path) -> str | None:
    """Why `path` is not what the tool wrote (None: it is, or it has no sidecar, as files from elsewhere)."""
    path = Path(path)
    digests = listed(path)
    if not digests or sidecar(path).is_symlink():
        return None
    if file_sha256(path) not in digests:
        return f"its SHA-256 differs from {sidecar(path).name}: the bytes changed after it was written"
    return None

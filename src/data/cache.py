"""Decode each image once: a content-keyed cache of uint8 `.npy` files opened as memory maps.

PNG decoding dominates an SR data pipeline that decodes for every sample (EDSR-PyTorch's `--ext img`); its
default `--ext sep` decodes once but still loads whole images per sample. A memmap reads only the patch,
costs nothing to open in every DataLoader worker and every DDP rank, and shares the OS page cache.

Each entry `<key>.npy` has a record `<key>.json` (shape, dtype, CRC-32 of the pixels) written before it. An
entry is checked against its record the first time a process opens it (not per sample: patches stay lazy);
a truncated, garbled or mismatching entry is rebuilt from its source image with a one-line warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from src.contracts.atomic import atomic_write
from src.contracts.errors import UserError
from src.data.images import DEFAULT_MAX_PIXELS, check_pixels, read_image

log = logging.getLogger(__name__)

# Entries this process has checked against their records (or written itself).
_verified: set[Path] = set()


def default_cache_dir() -> Path:
    """`$SR_CACHE_DIR`, else `$XDG_CACHE_HOME/srsweep`, else `~/.cache/srsweep`."""
    if os.environ.get("SR_CACHE_DIR"):
        return Path(os.environ["SR_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "srsweep"


def _key(path: Path, variant: str) -> str:
    st = path.stat()
    ident = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{variant}"
    return hashlib.sha1(ident.encode()).hexdigest()


def cached_array(
    path: Path,
    variant: str = "decoded",
    make: Callable[[np.ndarray], np.ndarray] | None = None,
    cache_dir: Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """The image at `path` as an (H, W, C) uint8 memmap, decoded (and passed through `make`) at most once.

    `variant` names what `make` does (e.g. "lr_x4") so that derived images, such as LR made from HR, are
    cached beside the decoded original. Entries are keyed by the file's path, size and mtime, so an edited
    image is decoded again. Writes are atomic: concurrent ranks or workers never see half a file.
    """
    path = Path(path)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if cache_dir.exists() and not cache_dir.is_dir():
        raise UserError(f"cache folder {cache_dir} is a file; set data.cache_dir= (or SR_CACHE_DIR) to a folder")
    target = cache_dir / f"{_key(path, variant)}.npy"
    if target not in _verified:
        problem = _problem(target) if target.exists() else None
        if problem is not None:
            log.warning("cache entry %s of %s is %s; rebuilding it from the image", target.name, path, problem)
        if problem is not None or not target.exists():
            array = read_image(path, max_pixels=max_pixels)
            _write(target, make(array) if make is not None else array)
        _verified.add(target)
    array = np.load(target, mmap_mode="r")
    if variant == "decoded":  # the limit holds for cached images too, whatever limit built the cache
        check_pixels(path, array.shape[1], array.shape[0], max_pixels)
    return array


def _record(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": str(array.dtype), "crc32": zlib.crc32(np.ascontiguousarray(array))}


def _write(target: Path, array: np.ndarray) -> None:
    """The record first, then the entry (both atomic): whoever sees an entry also sees its record."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    record = json.dumps(_record(array)).encode()
    atomic_write(target.with_suffix(".json"), lambda f: f.write(record))
    atomic_write(target, lambda f: np.save(f, array))


def _problem(target: Path) -> str | None:
    """What is wrong with an entry, checked against its record (None: nothing)."""
    try:
        record = json.loads(target.with_suffix(".json").read_text())
        array = np.load(target, mmap_mode="r")
    except (OSError, ValueError) as err:
        return f"unreadable ({' '.join(str(err).split()) or type(err).__name__})"
    if _record(array) != record:
        return "not what was written (shape, dtype or checksum differ from its record)"
    return None

"""Decode each image once: a content-keyed cache of uint8 `.npy` files opened as memory maps.

PNG decoding dominates an SR data pipeline that decodes for every sample (EDSR-PyTorch's `--ext img`); its
default `--ext sep` decodes once but still loads whole images per sample. A memmap reads only the patch,
costs nothing to open in every DataLoader worker and every DDP rank, and shares the OS page cache.

Each entry `<key>.npy` has a record `<key>.json` (shape, dtype, CRC-32 of the pixels) written before it. An
entry is checked against its record the first time a process opens it (not per sample: patches stay lazy);
a truncated, garbled or mismatching entry is rebuilt from its source image with a one-line warning.

Several jobs may start on an empty cache at once: each writes its copy under a private name and links it into
place only if no entry is there yet (the loser discards its copy), so an entry another process has opened never
changes under it. Only an entry found damaged is replaced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from src.contracts.atomic import atomic_write
from src.contracts.errors import UserError
from src.data.images import DEFAULT_MAX_PIXELS, ImageError, check_pixels, read_image

log = logging.getLogger(__name__)

# Entries this process has checked against their records (or written itself).
_verified: set[Path] = set()


def default_cache_dir() -> Path:
    """`$SR_CACHE_DIR`, else `$XDG_CACHE_HOME/srsweep`, else `~/.cache/srsweep`."""
    if os.environ.get("SR_CACHE_DIR"):
        return Path(os.environ["SR_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "srsweep"


def _key(path: Path, variant: str) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ImageError(f"{path}: no such image file") from None
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
    image is decoded again. Concurrent ranks, workers and jobs never see half a file, and an entry one of them
    has opened is never replaced (a damaged one excepted).
    """
    path = Path(path)
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if cache_dir.exists() and not cache_dir.is_dir():
        raise UserError(f"cache folder {cache_dir} is a file; set data.cache_dir= (or SR_CACHE_DIR) to a folder")
    target = cache_dir / f"{_key(path, variant)}.npy"
    try:
        array = _entry(target, path, make, max_pixels)
    except FileNotFoundError as err:  # the cache folder removed under a running job: one line, not a traceback
        raise UserError(f"cache folder {cache_dir} changed while in use ({err}); rerun the command") from None
    if variant == "decoded":  # the limit holds for cached images too, whatever limit built the cache
        check_pixels(path, array.shape[1], array.shape[0], max_pixels)
    return array


def _entry(
    target: Path, path: Path, make: Callable[[np.ndarray], np.ndarray] | None, max_pixels: int | None
) -> np.ndarray:
    """The cache entry `target` of the image at `path`, checked or written first if this process has not."""
    if target not in _verified:
        problem = _problem(target) if target.exists() else None
        if problem is not None:
            log.warning("cache entry %s of %s is %s; rebuilding it from the image", target.name, path, problem)
        if problem is not None or not target.exists():
            array = read_image(path, max_pixels=max_pixels)
            _write(target, make(array) if make is not None else array, replace=problem is not None)
        _verified.add(target)
    return np.load(target, mmap_mode="r")


def _record(array: np.ndarray) -> dict:
    return {"shape": list(array.shape), "dtype": str(array.dtype), "crc32": zlib.crc32(np.ascontiguousarray(array))}


def _write(target: Path, array: np.ndarray, replace: bool) -> None:
    """The record first, then the entry: whoever sees an entry also sees its record. A new entry is only
    added (another process may have written the same bytes meanwhile); `replace` is for a damaged one."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    record = json.dumps(_record(array)).encode()
    record_file = target.with_suffix(".json")
    write_record, write_entry = (lambda f: f.write(record)), (lambda f: np.save(f, array))
    if replace:
        atomic_write(record_file, write_record)
        atomic_write(target, write_entry)
        return
    if not _add(record_file, write_record) and record_file.read_bytes() != record:
        # A record left by a writer that died before adding its entry, of other pixels: ours replaces it.
        atomic_write(record_file, write_record)
    _add(target, write_entry)


def _add(target: Path, write: Callable[[BinaryIO], None]) -> bool:
    """Write a file under a private name, then link it to `target` unless `target` exists: True if this call
    added it, False if another process had (its file stays, ours is dropped). Readers see a whole file or
    none, and a file someone reads never changes."""
    private = atomic_write(target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.new"), write)
    try:
        os.link(private, target)
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: an atomic replace by identical bytes is the next best
        os.replace(private, target)
        return True
    finally:
        private.unlink(missing_ok=True)
    return True


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

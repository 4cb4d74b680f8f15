"""Decode each image once: a content-keyed cache of uint8 `.npy` files opened as memory maps.

PNG decoding dominates an SR data pipeline that decodes for every sample (EDSR-PyTorch's `--ext img`); its
default `--ext sep` decodes once but still loads whole images per sample. A memmap reads only the patch,
costs nothing to open in every DataLoader worker and every DDP rank, and shares the OS page cache.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from src.data.images import DEFAULT_MAX_PIXELS, check_pixels, read_image


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
    target = cache_dir / f"{_key(path, variant)}.npy"
    if not target.exists():
        array = read_image(path, max_pixels=max_pixels)
        if make is not None:
            array = make(array)
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".npy.tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, np.ascontiguousarray(array, dtype=np.uint8))
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    array = np.load(target, mmap_mode="r")
    if variant == "decoded":  # the limit holds for cached images too, whatever limit built the cache
        check_pixels(path, array.shape[1], array.shape[0], max_pixels)
    return array

"""Reading and writing 8-bit images with errors that name the file and the fix."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from src.contracts.atomic import atomic_write
from src.contracts.errors import UserError

IMAGE_SUFFIXES = (".png", ".bmp", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

# PIL's own default (about 89 MP) warns, then errors at twice that. We error at the limit itself so that a
# decompression bomb never reaches memory; configs override it for genuinely huge inputs.
DEFAULT_MAX_PIXELS = 178_956_970


class ImageError(UserError, ValueError):
    """A one-line, user-facing problem with an image file."""


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside `folder`, sorted by name."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def check_pixels(path: Path, width: int, height: int, max_pixels: int | None) -> None:
    """Refuse an image larger than `max_pixels` before it is decoded (decompression-bomb guard)."""
    if max_pixels is not None and width * height > max_pixels:
        raise ImageError(
            f"{path}: {width}x{height} = {width * height} pixels is over the limit of {max_pixels} "
            "(decompression-bomb guard); raise data.max_pixels if the image is genuine"
        )


def read_image(path: Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode `path` to an (H, W, C) uint8 array with C = 1 (grey) or 3 (RGB).

    Grey stays single-channel because the evaluation protocol scores such images on their one channel;
    alpha and palettes are dropped to RGB; 16-bit images are reduced to 8 bits, floating-point ones (0..1)
    scaled to 0..255; 32-bit integer images, and floats outside 0..1, are refused (no agreed white level).
    """
    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(path) as im:
                check_pixels(path, im.width, im.height, max_pixels)
                im.load()
                if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                    return _deep_grey(path, im)
                if im.mode in ("L", "LA", "1"):
                    return np.asarray(im.convert("L"), dtype=np.uint8)[..., None]
                return np.asarray(im.convert("RGB"), dtype=np.uint8)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"{path}: no such image file") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageError(f"{path}: cannot decode image ({err}); the file is corrupt or truncated, replace it") from None


def _deep_grey(path: Path, im: Image.Image) -> np.ndarray:
    """A grey image of more than 8 bits as (H, W, 1) uint8: 16-bit / 257, float 0..1 x 255, else refused."""
    values = np.asarray(im, dtype=np.float64)
    if im.mode == "F":
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
        if not (np.isfinite(values).all() and low >= 0.0 and high <= 1.0):
            raise ImageError(
                f"{path}: floating-point image with values {low:g}..{high:g}; only floats in 0..1 are read: "
                "save it as an 8- or 16-bit PNG"
            )
        return (values * 255.0).round().clip(0, 255).astype(np.uint8)[..., None]
    tagged = (getattr(im, "tag_v2", None) or {}).get(258, 16)  # TIFF's BitsPerSample
    bits = max(tagged) if isinstance(tagged, tuple) else int(tagged)
    if bits > 16 or values.min(initial=0) < 0 or values.max(initial=0) > 65535:
        raise ImageError(
            f"{path}: {max(bits, 32)}-bit integer image; only 8- and 16-bit images are read (a 32-bit one has no "
            "agreed white level): save it as an 8- or 16-bit PNG"
        )
    return (values / 257.0).round().clip(0, 255).astype(np.uint8)[..., None]


def write_image(path: Path, array: np.ndarray) -> None:
    """Write an (H, W), (H, W, 1) or (H, W, 3) uint8 array as an image (format from the suffix)."""
    arr = np.asarray(array)
    if arr.dtype != np.uint8:
        raise TypeError(f"write_image needs uint8, got {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    path = Path(path)
    image = Image.fromarray(arr)
    # Atomic: an interrupted writer leaves no half image that a rerun would skip as done.
    atomic_write(path, lambda f: image.save(f, format=Image.registered_extensions()[path.suffix.lower()]))

"""A small real-photo data set built from the photographs scikit-image ships in its wheel (`make demo`).

No download: the files are read straight from the installed package, never through `skimage.data`'s
fetchers, which go to the network for anything the wheel lacks. The result is an ordinary data root in the
official layouts (`DIV2K/DIV2K_train_HR/`, `benchmark/PhotosVal/HR/`, `benchmark/Photos/HR/`); LR images are
made from HR by the data code itself (MATLAB bicubic), as for any set without an `LR_bicubic` folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.contracts.errors import UserError
from src.data.images import read_image, write_image
from src.data.layout import set_dirs

TEST_SET = "Photos"
VAL_SET = "PhotosVal"
MANIFEST = "bundled.json"
# Bump when the selection or the crops change: a root built under another version is rebuilt.
VERSION = 2


@dataclass(frozen=True)
class Photo:
    """A file of skimage's data folder, cropped to (top, left, height, width); sides are multiples of 12 so
    that every scale (2, 3, 4) sees the same HR pixels."""

    file: str
    box: tuple[int, int, int, int]


# Training: sharp synthetic edges and lettering (a page, a logo, a silhouette, a phantom, a chessboard), where a
# linear upsampler must ring or blur and a nonlinear one need not, plus photographs for natural texture.
# The stereo pair motorcycle_left/right shows one scene twice, so both sit on the training side.
SKIMAGE_TRAIN = {
    "page": Photo("page.png", (0, 0, 180, 384)),
    "horse": Photo("horse.png", (0, 0, 324, 396)),
    "logo": Photo("logo.png", (0, 0, 492, 492)),
    "phantom": Photo("phantom.png", (0, 0, 396, 396)),
    "chessboard": Photo("chessboard_GRAY.png", (0, 0, 192, 192)),
    "color": Photo("color.png", (0, 0, 360, 360)),
    "motorcycle_left": Photo("motorcycle_left.png", (0, 0, 492, 732)),
    "motorcycle_right": Photo("motorcycle_right.png", (0, 0, 492, 732)),
    "rocket": Photo("rocket.jpg", (0, 0, 420, 636)),
    "hubble_deep_field": Photo("hubble_deep_field.jpg", (192, 252, 480, 480)),
    "immunohistochemistry": Photo("ihc.png", (0, 0, 504, 504)),
    "retina": Photo("retina.jpg", (468, 468, 480, 480)),
}
# Validation only draws the training curve, on images of its own.
SKIMAGE_VAL = {
    "cell": Photo("cell.png", (156, 216, 240, 240)),
    "microaneurysms": Photo("microaneurysms.png", (0, 0, 96, 96)),
}
# Test: eleven images never trained or validated on, grey ones scored on their one channel. Crops of about
# 240 pixels keep the 30 test passes of `make demo` short.
SKIMAGE_TEST = {
    "astronaut": Photo("astronaut.png", (0, 120, 240, 240)),
    "chelsea": Photo("chelsea.png", (0, 96, 288, 288)),
    "coffee": Photo("coffee.png", (60, 156, 240, 288)),
    "camera": Photo("camera.png", (48, 156, 240, 240)),
    "coins": Photo("coins.png", (0, 0, 240, 384)),
    "moon": Photo("moon.png", (132, 132, 240, 240)),
    "brick": Photo("brick.png", (0, 0, 240, 240)),
    "grass": Photo("grass.png", (0, 0, 240, 240)),
    "gravel": Photo("gravel.png", (0, 0, 240, 240)),
    "text": Photo("text.png", (0, 0, 168, 444)),
    "clock": Photo("clock_motion.png", (0, 0, 288, 396)),
}
BUNDLES = {"skimage": (SKIMAGE_TRAIN, SKIMAGE_VAL, SKIMAGE_TEST)}


def _skimage_dir() -> Path:
    import skimage

    return Path(skimage.__file__).parent / "data"


def _load(photo: Photo, folder: Path) -> np.ndarray:
    path = folder / photo.file
    if not path.is_file():
        raise UserError(f"{path} not found: this scikit-image lacks {photo.file}; pip install 'scikit-image>=0.22'")
    top, left, h, w = photo.box
    img = read_image(path)[top : top + h, left : left + w]
    if img.shape[:2] != (h, w):
        raise UserError(f"{path} is {img.shape[1]}x{img.shape[0]}, too small for the crop {photo.box}")
    return img


def _manifest(name: str) -> dict:
    train, val, test = BUNDLES[name]
    describe = {n: {"file": p.file, "box": list(p.box)} for n, p in {**train, **val, **test}.items()}
    return {
        "bundled": name,
        "version": VERSION,
        "train": sorted(train),
        VAL_SET: sorted(val),
        TEST_SET: sorted(test),
        "photos": describe,
    }


def _is_complete(root: Path, manifest: dict) -> bool:
    try:
        return json.loads((root / MANIFEST).read_text()) == manifest
    except (OSError, ValueError):
        return False


def build_bundled(name: str, root: Path) -> None:
    """Write the bundled data set `name` to `root` once; return only when `root` holds it complete.

    Layout: `root/DIV2K/DIV2K_train_HR/<photo>.png` (training), `root/benchmark/PhotosVal/HR/<photo>.png`
    (validation) and `root/benchmark/Photos/HR/<photo>.png` (test). Safe when several jobs of a sweep start on
    an empty cache at once: each builds in a private folder and renames it into place; a root holding this
    version's manifest is never replaced (a builder that finds one there discards its own copy), so a job
    already reading it never sees a file vanish. A root built by another version is replaced; any other
    existing `root` is refused rather than overwritten.
    """
    if name not in BUNDLES:
        raise UserError(f"unknown bundled data set {name!r}: use data.bundled={' or '.join(BUNDLES)} (or null)")
    root = Path(root)
    manifest = _manifest(name)
    if _is_complete(root, manifest):
        return
    _check_replaceable(root)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.building-"))
        try:
            _write_photos(name, tmp, manifest)
            _publish(tmp, root, manifest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except FileNotFoundError as err:  # a folder removed under us (by hand): one line, not a traceback
        raise UserError(f"building the bundled data in {root} failed ({err}); rerun the command") from None
    if not _is_complete(root, manifest):
        raise UserError(f"{root} lost its bundled data while being built; rerun the command")


def _check_replaceable(root: Path) -> None:
    """A root with a manifest (another version's build) or an empty one may be replaced; nothing else."""
    if root.exists() and not (root / MANIFEST).is_file() and (not root.is_dir() or any(root.iterdir())):
        raise UserError(
            f"{root} holds other files and is not a bundled data root: point paths.data_dir at a new folder"
        )


def _write_photos(name: str, folder: Path, manifest: dict) -> None:
    """The crops in the official layouts, then the manifest, which marks the folder complete."""
    train, val, test = BUNDLES[name]
    source = _skimage_dir()
    # HR folders only, so the scale passed to set_dirs (which names the LR folder) is immaterial.
    groups = (
        (set_dirs(folder, "DIV2K", 2, "train").hr, train),
        (set_dirs(folder, VAL_SET, 2).hr, val),
        (set_dirs(folder, TEST_SET, 2).hr, test),
    )
    for hr_dir, photos in groups:
        for photo_name, photo in photos.items():
            write_image(hr_dir / f"{photo_name}.png", _load(photo, source))
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def _publish(tmp: Path, root: Path, manifest: dict) -> None:
    """Rename the finished `tmp` to `root` unless a complete root of this version is there already (then the
    caller discards `tmp`). Builders take turns here (a lock on the parent folder), so the check and the
    rename are one step: a complete root someone just published is never mistaken for an old build."""
    with _parent_locked(root):
        if _is_complete(root, manifest):
            return
        _check_replaceable(root)
        if root.exists():  # another version's build, or an empty folder: retire it first
            old = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.old-"))
            os.rename(root, old / "root")
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(tmp, root)  # onto a non-empty folder this fails (ENOTEMPTY/EEXIST): never a silent swap
        except OSError:
            if not _is_complete(root, manifest):  # not another builder's root (where flock is unavailable)
                raise


@contextlib.contextmanager
def _parent_locked(root: Path) -> Iterator[None]:
    """An exclusive `flock` on `root`'s parent folder: no lock file to create or leave behind, and the kernel
    releases it when its process dies, however it dies."""
    fd = os.open(root.parent, os.O_RDONLY)
    try:
        # A file system without flock (some network mounts) still has the rename that refuses a non-empty root.
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock

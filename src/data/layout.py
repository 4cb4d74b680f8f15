"""Where images live: the official DIV2K layout and EDSR's `benchmark/` layout under one data root."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from src.contracts.errors import UserError
from src.data.images import list_images

# The scales of the whole project: EDSR's upsampler, the standard LR sets (X2, X3, X4), and the LR files our
# MATLAB imresize port reproduces bit for bit (the published X8 files differ from every port tried, so larger
# scales are refused rather than silently mismatching).
SUPPORTED_SCALES = (2, 3, 4)

GET_DATA = "get the data with `make data` (python -m src.data.download --data-dir DIR) or set paths.data_dir"


@dataclass(frozen=True)
class SetDirs:
    """An image set at one scale: HR folder and the folder of its bicubic LR files (may not exist)."""

    name: str
    hr: Path
    lr: Path


def set_dirs(data_dir: Path, name: str, scale: int, split: str = "valid") -> SetDirs:
    """`DIV2K` is DIV2K's `split` (train: 0001-0800, valid: 0801-0900); any other name is benchmark/<name>."""
    root = Path(data_dir)
    if name == "DIV2K":
        div2k = root / "DIV2K"
        return SetDirs(name, div2k / f"DIV2K_{split}_HR", div2k / f"DIV2K_{split}_LR_bicubic" / f"X{scale}")
    bench = root / "benchmark" / name
    return SetDirs(name, bench / "HR", bench / "LR_bicubic" / f"X{scale}")


def require_dir(path: Path, what: str) -> None:
    if not Path(path).is_dir():
        raise UserError(f"{what} not found: {path} does not exist; {GET_DATA}")


def set_images(folder: Path, what: str) -> list[Path]:
    """The images of a set's folder, sorted; a folder that is missing, or removed while listed, is one line."""
    require_dir(folder, what)
    try:
        return list_images(folder)
    except FileNotFoundError:
        raise UserError(f"{what} {folder} was removed while being read; rerun the command, or {GET_DATA}") from None


def check_scale(scale: int) -> None:
    """The scales EDSR's upsampler and the standard LR sets (X2, X3, X4) exist for."""
    if scale not in SUPPORTED_SCALES:
        choices = ", ".join(map(str, SUPPORTED_SCALES[:-1])) + f" or {SUPPORTED_SCALES[-1]}"
        raise UserError(f"unsupported scale {scale}: use scale={choices}")

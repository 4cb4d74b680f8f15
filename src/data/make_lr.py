"""Make MATLAB-bicubic LR images from a folder of HR images, in EDSR's `LR_bicubic` layout.

    python -m src.data.make_lr HR_DIR OUT_DIR --scale 2 --scale 4

writes `OUT_DIR/X2/<stem>x2.png` and `OUT_DIR/X4/<stem>x4.png` for every image in HR_DIR, each made exactly as
the standard LR sets were (`imresize(modcrop(hr, s), 1/s, 'bicubic')` in MATLAB). Grey images stay
single-channel. Problems are reported in one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import NoReturn

from src.contracts.errors import UserError, user_errors_exit
from src.data.images import ImageError, list_images, read_image, write_image
from src.data.imresize import downscale
from src.data.layout import SUPPORTED_SCALES


class UsageError(UserError):
    """A one-line problem with the command line or its inputs, reported without a traceback."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse would print the multi-line usage first; one line that names the fix is easier to act on.
        raise UsageError(f"{message}; see --help")


def lr_path(out_dir: Path, stem: str, scale: int) -> Path:
    """EDSR's layout: `<out_dir>/X<s>/<stem>x<s>.png`."""
    return Path(out_dir) / f"X{scale}" / f"{stem}x{scale}.png"


def _parse_scale(text: str) -> int:
    scale = int(text) if text.strip().isdigit() else None
    if scale not in SUPPORTED_SCALES:
        choices = ", ".join(map(str, SUPPORTED_SCALES))
        raise argparse.ArgumentTypeError(f"unsupported scale {text!r}; use one of {choices}")
    return scale


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m src.data.make_lr",
        description="Write MATLAB-bicubic LR images (EDSR LR_bicubic layout) for every image in HR_DIR.",
    )
    parser.add_argument("hr_dir", type=Path, metavar="HR_DIR", help="folder of HR images")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="writes OUT_DIR/X{S}/<stem>x{S}.png")
    parser.add_argument(
        "--scale",
        type=_parse_scale,
        action="append",
        required=True,
        metavar="S",
        help="downscaling factor, 2, 3 or 4; repeat the option for several",
    )
    parser.add_argument("--force", action="store_true", help="overwrite existing LR files")
    return parser


def _check_inputs(hr_dir: Path, out_dir: Path, scales: list[int], force: bool) -> list[Path]:
    """The HR images to convert, after every check that needs no decoding."""
    if not hr_dir.is_dir():
        raise UsageError(f"{hr_dir}: no such directory; pass the folder that holds the HR images")
    paths = list_images(hr_dir)
    if not paths:
        raise UsageError(f"{hr_dir}: no images (.png, .bmp, .jpg, ...) in this folder; pass the folder of HR images")
    clashes = sorted(stem for stem, n in Counter(p.stem for p in paths).items() if n > 1)
    if clashes:
        raise UsageError(
            f"{hr_dir}: several images are named {clashes[0]!r} (different suffixes) and would write the "
            "same LR file; keep only one"
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir}: exists and is not a directory; choose another OUT_DIR")
    if not force:
        existing = [lr_path(out_dir, p.stem, s) for s in scales for p in paths if lr_path(out_dir, p.stem, s).exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise UsageError(f"{existing[0]}{more} already exists; pass --force to overwrite or choose another OUT_DIR")
    return paths


def make_lr(hr_dir: Path, out_dir: Path, scales: list[int], force: bool = False) -> dict[int, int]:
    """Write the LR images of every HR image in `hr_dir`; returns the number written per scale.

    All or nothing: existing outputs are checked before anything is written, and if an image turns out to be
    undecodable or too small, the files this call has created are removed again. Each image is decoded once
    and dropped after its scales are written, so folders of any size fit in memory.
    """
    hr_dir, out_dir = Path(hr_dir), Path(out_dir)
    scales = sorted(set(scales))
    paths = _check_inputs(hr_dir, out_dir, scales, force)
    created: list[Path] = []
    try:
        for path in paths:
            hr = read_image(path)
            if min(hr.shape[:2]) < max(scales):
                raise UsageError(
                    f"{path}: {hr.shape[1]}x{hr.shape[0]} is smaller than the scale {max(scales)}; "
                    "remove it from HR_DIR"
                )
            for scale in scales:
                target = lr_path(out_dir, path.stem, scale)
                if not target.exists():
                    created.append(target)
                write_image(target, downscale(hr, scale))
    except (ImageError, UsageError, OSError) as err:
        for target in created:
            target.unlink(missing_ok=True)
        message = str(err) if isinstance(err, (ImageError, UsageError)) else f"cannot write LR images: {err}"
        raise UsageError(f"{message} (the LR files this run had created were removed)") from None
    return {scale: len(paths) for scale in scales}


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    written = make_lr(args.hr_dir, args.out_dir, args.scale, force=args.force)
    for scale, count in written.items():
        print(f"x{scale}: wrote {count} LR images to {args.out_dir / f'X{scale}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

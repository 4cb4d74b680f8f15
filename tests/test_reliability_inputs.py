"""Inputs that used to score wrongly or crash late: images too small for SSIM (refused before training), 32-bit
TIFFs (read right or refused), upscale outputs that collide or feed the next run (issue #26, items 5, 6, 12)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from src.contracts.errors import UserError
from src.data.images import ImageError, read_image, write_image
from tests.helpers import compose_config


def _set(root: Path, name: str, sizes: list[tuple[int, int]]) -> Path:
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        write_image(root / "benchmark" / name / "HR" / f"img{i}.png", rng.integers(0, 255, (h, w, 3), np.uint8))
    return root


@pytest.mark.parametrize(("size", "scale"), [((3, 7), 2), ((14, 14), 2), ((18, 18), 4)])
def test_an_image_too_small_for_ssim_is_named_when_the_set_is_loaded(size, scale: int, tmp_path: Path) -> None:
    from src.data.datasets import load_pairs
    from src.data.layout import set_dirs

    root = _set(tmp_path, "Tiny", [(64, 64), size])
    dirs = set_dirs(root, "Tiny", scale)
    with pytest.raises(UserError, match=rf"img1.png: {size[1]}x{size[0]} is too small to score at x{scale}") as info:
        load_pairs(dirs, scale, cache_dir=tmp_path / "cache")
    assert "\n" not in str(info.value) and "remove it from" in str(info.value)
    load_pairs(set_dirs(_set(tmp_path / "ok", "Tiny", [(16, 17)]), "Tiny", 2), 2, cache_dir=tmp_path / "cache")


def test_a_test_set_too_small_for_ssim_stops_training_before_the_first_step(data_root: Path, tmp_path: Path) -> None:
    """The test stage runs after the last step: its sizes are checked when the training data is built."""
    from src.data.datamodule import SRDataModule

    root = _set(tmp_path, "Tiny", [(14, 14)])
    (root / "DIV2K").symlink_to(data_root / "DIV2K")
    dm = SRDataModule(str(root), 2, val_sets=[], test_sets=["Tiny"], patch_size=16, cache_dir=str(tmp_path / "c"))
    with pytest.raises(UserError, match="14x14 is too small to score at x2"):
        dm.setup("fit")


def _tiff(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path)
    return path


def test_a_float_tiff_in_0_1_is_read_at_full_range(tmp_path: Path) -> None:
    values = np.linspace(0, 1, 64 * 64, dtype=np.float32).reshape(64, 64)
    img = read_image(_tiff(tmp_path / "f.tif", values))
    assert img.shape == (64, 64, 1) and img.min() == 0 and img.max() == 255
    assert np.array_equal(img[..., 0], np.round(values.astype(np.float64) * 255).astype(np.uint8))


@pytest.mark.parametrize(
    ("array", "needle"),
    [
        (np.full((8, 8), 3.5, np.float32), "floating-point image with values 3.5..3.5"),
        (np.full((8, 8), np.nan, np.float32), "floating-point image"),
        (np.full((8, 8), 100_000, np.int32), "32-bit integer image"),
        (np.zeros((8, 8), np.int32), "32-bit integer image"),
    ],
    ids=["float-255", "nan", "int32-large", "int32-small"],
)
def test_a_tiff_with_no_agreed_white_level_is_refused_in_one_line(array, needle: str, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match=needle) as info:
        read_image(_tiff(tmp_path / "x.tif", array))
    assert "\n" not in str(info.value) and "save it as an 8- or 16-bit PNG" in str(info.value)


def test_16_bit_images_still_read(tmp_path: Path) -> None:
    values = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)
    for suffix in (".png", ".tif"):
        img = read_image(_tiff(tmp_path / f"a{suffix}", values))
        assert np.array_equal(img[..., 0], np.round(values / 257.0).astype(np.uint8))


def _upscale(folder: Path, out: Path):
    from src.upscale import upscale

    cfg = compose_config("upscale", "model=bicubic", f"input={folder}", f"output={out}", "device=cpu")
    return upscale(cfg)


def test_upscale_outputs_never_collide_and_never_feed_the_next_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    write_image(tmp_path / "baby.png", rng.integers(0, 255, (12, 12, 3), np.uint8))
    Image.fromarray(rng.integers(0, 255, (12, 12, 3), np.uint8)).save(tmp_path / "baby.jpg")
    write_image(tmp_path / "a.png", rng.integers(0, 255, (12, 12, 3), np.uint8))
    first = _upscale(tmp_path, tmp_path)  # output= is input=
    assert sorted(p.name for p in first) == ["a_x2.png", "baby_jpg_x2.png", "baby_png_x2.png"]
    made = {p: p.read_bytes() for p in first}
    capsys.readouterr()
    _upscale(tmp_path, tmp_path)
    assert "leaving out 3 image(s)" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a.png", "baby.png", "baby.jpg", *(p.name for p in made)]
    )
    assert all(p.read_bytes() == b for p, b in made.items())


def test_a_clash_the_names_cannot_resolve_is_refused(tmp_path: Path) -> None:
    from src.upscale import output_names

    files = [tmp_path / "b.png", tmp_path / "b.jpg", tmp_path / "b_png.jpg"]
    with pytest.raises(UserError, match="would both write"):
        output_names(files, tmp_path, 2)

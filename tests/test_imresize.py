"""MATLAB bicubic `imresize`: the published LR files, an independent loop reference, torch/numpy agreement."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
import torch

from src.data.images import list_images, read_image
from src.data.imresize import downscale, imresize, imresize_tensor, modcrop


def _loop_reference(img: np.ndarray, scale: float, quantize: bool = True) -> np.ndarray:
    """MATLAB's bicubic imresize written from its definition, one output pixel at a time.

    Deliberately shares nothing with the vectorised code: plain Python floats, a separate mirroring rule, and
    Decimal for MATLAB's round-half-away-from-zero.
    """

    def cubic(t: float) -> float:
        a = abs(t)
        if a <= 1:
            return 1.5 * a**3 - 2.5 * a**2 + 1
        if a <= 2:
            return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
        return 0.0

    def mirror(k: int, n: int) -> int:
        # 1-based index k reflected about the image edges with the edge pixel repeated ('symmetric').
        while k < 1 or k > n:
            k = 1 - k if k < 1 else 2 * n + 1 - k
        return k

    def to_uint8(v: float) -> float:
        v = min(max(v, 0.0), 255.0)
        return float(Decimal(v).quantize(Decimal(1), rounding=ROUND_HALF_UP))

    def along_first_axis(a: np.ndarray) -> np.ndarray:
        n = a.shape[0]
        m = math.ceil(n * scale)
        width = 4.0 / scale if scale < 1 else 4.0
        out = np.zeros((m, *a.shape[1:]))
        for i in range(1, m + 1):
            u = i / scale + 0.5 * (1 - 1 / scale)
            first = math.floor(u - width / 2)
            ks = range(first, first + math.ceil(width) + 2)
            ws = [scale * cubic(scale * (u - k)) if scale < 1 else cubic(u - k) for k in ks]
            total = 0.0
            for w in ws:
                total += w
            for col in np.ndindex(*a.shape[1:]):
                acc = 0.0
                for k, w in zip(ks, ws, strict=True):
                    acc += (w / total) * a[(mirror(k, n) - 1, *col)]
                out[(i - 1, *col)] = to_uint8(acc) if quantize else acc
        return out

    rows = along_first_axis(img.astype(np.float64))
    cols = along_first_axis(np.swapaxes(rows, 0, 1))
    out = np.swapaxes(cols, 0, 1)
    return out.astype(np.uint8) if quantize else out


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def test_downscale_reproduces_every_published_lr_file(benchmark_dir: Path) -> None:
    compared = 0
    for set_name in ("Set5", "Set14"):
        for hr_path in list_images(benchmark_dir / set_name / "HR"):
            hr = read_image(hr_path)
            for scale in (2, 3, 4):
                expected = read_image(
                    benchmark_dir / set_name / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
                )
                lr = downscale(hr, scale)
                assert lr.shape == expected.shape, (set_name, hr_path.stem, scale)
                assert lr.dtype == np.uint8
                assert int((lr != expected).sum()) == 0, (set_name, hr_path.stem, scale)
                compared += 1
    assert compared == 57


@pytest.mark.parametrize("scale", [2, 3, 4, 1.5, 1, 0.5, 1 / 3, 0.25, 0.6])
@pytest.mark.parametrize("shape", [(7, 9), (6, 5, 3)])
def test_matches_loop_reference(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> None:
    img = rng.integers(0, 256, shape, dtype=np.uint8)
    np.testing.assert_array_equal(imresize(img, scale), _loop_reference(img, scale))


def test_float64_input_skips_rounding(rng: np.random.Generator) -> None:
    img = rng.integers(0, 256, (6, 8, 3)).astype(np.float64)
    for scale in (2, 0.5):
        out = imresize(img, scale)
        assert out.dtype == np.float64
        np.testing.assert_allclose(out, _loop_reference(img, scale, quantize=False), rtol=0, atol=1e-9)
        assert not np.array_equal(out, np.round(out))


def test_per_pass_rounding_matters(rng: np.random.Generator) -> None:
    img = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    once = np.clip(np.floor(imresize(img.astype(np.float64), 0.5) + 0.5), 0, 255).astype(np.uint8)
    assert not np.array_equal(imresize(img, 0.5), once)


@pytest.mark.parametrize(
    ("shape", "scale", "expected"),
    [
        ((7, 5), 2, (14, 10)),
        ((7, 5, 3), 3, (21, 15, 3)),
        ((7, 5, 1), 4, (28, 20, 1)),
        ((7, 5), 1.5, (11, 8)),
        ((7, 5), 0.5, (4, 3)),
        ((339, 510, 3), 4, (1356, 2040, 3)),
    ],
)
def test_output_size_is_ceil_of_scaled_size(shape: tuple[int, ...], scale: float, expected: tuple[int, ...]) -> None:
    assert imresize(np.zeros(shape, dtype=np.uint8), scale).shape == expected


@pytest.mark.parametrize("scale", [2, 3, 4, 0.5, 1 / 3, 0.25])
def test_constant_image_stays_constant(scale: float) -> None:
    for value in (0, 1, 128, 254, 255):
        img = np.full((12, 10, 3), value, dtype=np.uint8)
        out = imresize(img, scale)
        assert (out == value).all(), (value, scale)


def test_upscaling_a_step_overshoots_and_is_clamped() -> None:
    img = np.zeros((4, 8), dtype=np.uint8)
    img[:, 4:] = 255
    row = imresize(img, 2)[0]
    # a = -0.5 rings at edges: the dark side dips below 0 and the bright side above 255, both clamped.
    assert row.min() == 0 and row.max() == 255
    assert row[6] == 0 and row[7] > 0 and row[8] < 255 and row[9] == 255


@pytest.mark.parametrize("scale", [2, 4, 0.5, 0.25, 1 / 3])
@pytest.mark.parametrize("channels", [1, 3])
def test_tensor_agrees_with_numpy(rng: np.random.Generator, scale: float, channels: int) -> None:
    batch = rng.integers(0, 256, (2, 13, 17, channels), dtype=np.uint8)
    expected = np.stack([imresize(img, scale) for img in batch])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    out = imresize_tensor(x, scale)
    assert out.dtype == torch.float32 and out.is_contiguous()
    np.testing.assert_array_equal(out.permute(0, 2, 3, 1).numpy(), expected.astype(np.float32))
    single = imresize_tensor(x[1].double(), scale)
    assert single.dtype == torch.float64 and single.dim() == 3
    np.testing.assert_array_equal(single.permute(1, 2, 0).numpy(), expected[1].astype(np.float64))


def test_layout_and_input_are_preserved(rng: np.random.Generator) -> None:
    grey = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    kept = grey.copy()
    assert imresize(grey, 2).shape == (18, 22)
    np.testing.assert_array_equal(imresize(grey[..., None], 2)[..., 0], imresize(grey, 2))
    np.testing.assert_array_equal(grey, kept)
    x = torch.from_numpy(grey).double()[None]
    x_kept = x.clone()
    imresize_tensor(x, 0.5)
    assert torch.equal(x, x_kept)
    np.testing.assert_array_equal(imresize(grey, 1), grey)
    assert not imresize_tensor(x.requires_grad_(), 2).requires_grad


def test_modcrop_and_downscale_sizes() -> None:
    img = np.zeros((11, 14, 3), dtype=np.uint8)
    assert modcrop(img, 4).shape == (8, 12, 3)
    assert modcrop(img[..., 0], 3).shape == (9, 12)
    assert downscale(img, 3).shape == (3, 4, 3)
    assert downscale(img, 4).shape == (2, 3, 3)


def test_rejects_bad_arguments() -> None:
    img = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(ValueError, match="scale"):
        imresize(img, 0)
    with pytest.raises(TypeError, match="uint8"):
        imresize(img.astype(np.int32), 2)
    with pytest.raises(ValueError, match="integer"):
        downscale(img, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="N, C, H, W"):
        imresize_tensor(torch.zeros(4, 4), 2)

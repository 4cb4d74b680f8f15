"""The evaluation protocol (src/protocol/metrics.py) against independent references and hand-computed values."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from src.protocol.metrics import (
    SetScores,
    crop_hr,
    psnr,
    quantize,
    rgb_to_y,
    score,
    shave_border,
    shave_for,
    ssim,
    summarize,
)


def test_y_is_matlab_bt601_luma() -> None:
    black, white = torch.zeros(1, 3, 1, 1), torch.full((1, 3, 1, 1), 255.0)
    assert rgb_to_y(black).item() == pytest.approx(16.0)
    assert rgb_to_y(white).item() == pytest.approx(235.0)
    red = torch.tensor([255.0, 0, 0]).view(1, 3, 1, 1)
    assert rgb_to_y(red).item() == pytest.approx(16 + 65.481)


def test_quantize_rounds_and_clamps_to_uint8_levels() -> None:
    x = torch.tensor([-3.0, 0.4, 0.6, 254.7, 300.0])
    assert quantize(x).tolist() == [0.0, 0.0, 1.0, 255.0, 255.0]


def test_hr_is_cropped_top_left_to_lr_size_times_scale() -> None:
    hr = torch.arange(7 * 9, dtype=torch.float32).view(1, 1, 7, 9)
    assert torch.equal(crop_hr(hr, torch.zeros(1, 1, 6, 8)), hr[..., :6, :8])
    with pytest.raises(ValueError, match="do not belong together"):
        crop_hr(hr, torch.zeros(1, 1, 8, 8))


def test_shave_is_scale_on_benchmarks_and_scale_plus_6_on_div2k() -> None:
    assert shave_for("Set5", 4) == 4 and shave_for("Urban100", 2) == 2 and shave_for("DIV2K", 2) == 8


def test_psnr_is_per_image() -> None:
    hr = torch.zeros(2, 1, 4, 4, dtype=torch.float64)
    sr = hr.clone()
    sr[0] += 1.0
    sr[1] += 10.0
    values = psnr(sr, hr)
    assert values.tolist() == pytest.approx([10 * math.log10(255**2 / 1), 10 * math.log10(255**2 / 100)])


def _reference_ssim(sr: np.ndarray, hr: np.ndarray) -> float:
    """scikit-image's float64 SSIM as Wang et al. define it (the protocol's reference), channels averaged."""
    return float(
        np.mean(
            [
                structural_similarity(
                    sr[c], hr[c], gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
                )
                for c in range(sr.shape[0])
            ]
        )
    )


def _ours(sr: np.ndarray, hr: np.ndarray) -> float:
    return ssim(torch.from_numpy(sr)[None], torch.from_numpy(hr)[None]).item()


def test_ssim_matches_scikit_image_gaussian_ssim_on_the_valid_region() -> None:
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (3, 40, 50)).astype(np.float64)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255).round()
    assert abs(_ours(sr, hr) - _reference_ssim(sr, hr)) < 1e-6


def _text_image() -> np.ndarray:
    """A screenshot-like image: dark text on a flat light background, as in Set14's `ppt3`."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (160, 64), 236)
    draw = ImageDraw.Draw(img)
    for row in range(4):
        draw.text((4, 2 + 15 * row), "Activation study 0.01 dB", fill=24)
    return np.asarray(img, dtype=np.float64)[None]


@pytest.mark.parametrize(
    "case", ["flat", "flat_offset", "near_flat", "near_flat_bright", "text", "text_blurred", "ramp"]
)
def test_ssim_is_within_1e6_of_float64_on_flat_near_flat_and_text_images(case: str) -> None:
    # Flat areas are where float32 statistics cancel (E[x^2] - E[x]^2 of values near 255^2).
    rng = np.random.default_rng(1)
    flat = np.full((1, 48, 48), 235.0)
    sparse = (rng.random((1, 48, 48)) < 0.05).astype(np.float64)
    text = _text_image()
    blurred = np.round((text + np.roll(text, 1, -1) + np.roll(text, 1, -2) + np.roll(text, (1, 1), (-2, -1))) / 4)
    sr, hr = {
        "flat": (flat, flat),
        "flat_offset": (flat - 1, flat),
        "near_flat": (flat - sparse, flat),
        "near_flat_bright": (np.full_like(flat, 254.0) + sparse, np.full_like(flat, 254.0)),
        "text": (text - (rng.random(text.shape) < 0.02), text),
        "text_blurred": (blurred, text),
        "ramp": (np.round(np.linspace(200, 203, 48 * 48).reshape(1, 48, 48)), flat - 33),
    }[case]
    assert abs(_ours(sr, hr) - _reference_ssim(sr, hr)) < 1e-6


def _y(img: torch.Tensor) -> np.ndarray:
    return rgb_to_y(img.double())[0].numpy() if img.shape[1] == 3 else img[0].double().numpy()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_ssim_is_within_1e6_of_float64_on_set5_and_set14_sr_outputs(benchmark_dir: Path, scale: int) -> None:
    """Every Set5/Set14 image: bicubic SR at each scale, and a trained network's SR at x2, scored on Y."""
    from src.data.datasets import load_pairs, to_tensor
    from src.data.layout import set_dirs
    from src.models.bicubic import Bicubic
    from tests.trained import trained_edsr

    upscalers = [Bicubic(scale)] + ([trained_edsr(2)] if scale == 2 else [])
    checked = 0
    for name in ("Set5", "Set14"):
        for pair in load_pairs(set_dirs(benchmark_dir.parent, name, scale), scale):
            lr, hr = to_tensor(pair.lr, 3)[None], to_tensor(pair.hr)[None]
            for net in upscalers:
                with torch.no_grad():
                    sr = quantize(net(lr).double())
                if hr.shape[1] == 1:
                    sr = quantize(sr.mean(dim=1, keepdim=True))
                sr_y = shave_border(torch.from_numpy(_y(sr))[None], scale)[0].numpy()
                hr_y = shave_border(torch.from_numpy(_y(crop_hr(hr, sr)))[None], scale)[0].numpy()
                assert abs(_ours(sr_y, hr_y) - _reference_ssim(sr_y, hr_y)) < 1e-6, (name, pair.name, scale)
                checked += 1
    assert checked == 19 * len(upscalers)


def test_score_quantizes_crops_shaves_and_scores_y_and_rgb() -> None:
    torch.manual_seed(0)
    hr = (torch.rand(1, 3, 41, 43) * 255).round()
    sr = hr[..., :40, :42] + torch.randn(1, 3, 40, 42) * 3  # unrounded network output on a cropped grid
    out = score(sr, hr, shave=2)
    q = quantize(sr.double())
    h = hr[..., :40, :42].double()
    y_sr, y_hr = rgb_to_y(q)[..., 2:-2, 2:-2], rgb_to_y(h)[..., 2:-2, 2:-2]
    assert out["psnr_y"].item() == pytest.approx(psnr(y_sr, y_hr).item())
    assert out["psnr_rgb"].item() == pytest.approx(psnr(q[..., 2:-2, 2:-2], h[..., 2:-2, 2:-2]).item())
    assert 0 < out["ssim_y"].item() < 1 and 0 < out["ssim_rgb"].item() < 1


def test_grey_images_are_scored_on_their_one_channel() -> None:
    hr = (torch.rand(1, 1, 20, 20) * 255).round()
    sr = hr.expand(1, 3, 20, 20).clone()  # the network sees grey as R = G = B
    out = score(sr, hr, shave=2)
    assert math.isinf(out["psnr_y"].item()) and out["ssim_y"].item() == pytest.approx(1.0)


def test_set_scores_count_each_image_once_and_average_per_image() -> None:
    metric = SetScores()
    one = {k: torch.tensor([v]) for k, v in {"psnr_y": 30.0, "ssim_y": 0.9, "psnr_rgb": 28.0, "ssim_rgb": 0.8}.items()}
    two = {k: torch.tensor([v]) for k, v in {"psnr_y": 40.0, "ssim_y": 0.7, "psnr_rgb": 38.0, "ssim_rgb": 0.6}.items()}
    metric.update(torch.tensor([0]), one)
    metric.update(torch.tensor([1]), two)
    metric.update(torch.tensor([0]), one)  # a DistributedSampler pad repeat
    per_image = metric.compute()
    assert sorted(per_image) == [0, 1]
    assert summarize(per_image)["psnr_y"] == pytest.approx(35.0)
    assert summarize(per_image)["ssim_rgb"] == pytest.approx(0.7)

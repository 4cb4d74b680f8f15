"""The evaluation protocol (src/metrics.py) against independent references and hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from src.metrics import SetScores, crop_hr, psnr, quantize, rgb_to_y, score, shave_for, ssim, summarize


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


def test_ssim_matches_scikit_image_gaussian_ssim_on_the_valid_region() -> None:
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (3, 40, 50)).astype(np.float64)
    sr = np.clip(hr + rng.normal(0, 12, hr.shape), 0, 255).round()
    ours = ssim(torch.from_numpy(sr)[None], torch.from_numpy(hr)[None]).item()
    ref = np.mean(
        [
            structural_similarity(
                sr[c], hr[c], gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255
            )
            for c in range(3)
        ]
    )
    assert ours == pytest.approx(ref, abs=2e-5)


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

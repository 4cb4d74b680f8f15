"""`metric_speed_vs_skimage`: per-image PSNR + SSIM (Y and RGB) of `src.protocol.metrics.score` against scikit-image.

Both sides compute the same four numbers under the protocol (uint8 levels, border shave, MATLAB Y, Gaussian
SSIM averaged over the valid region); the values are checked to agree before anything is timed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from skimage import data
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from benchmarks.common import interleaved, seconds
from src.protocol.metrics import score

SHAVE = 2
_Y = np.array([65.481, 128.553, 24.966])


def _pair(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A real photo (scikit-image's astronaut, 512x512) and a noisy copy standing in for an SR output."""
    hr = data.astronaut()[:size, :size]
    noise = np.random.default_rng(0).normal(0, 6, hr.shape)
    sr = np.clip(np.round(hr + noise), 0, 255).astype(np.uint8)
    return sr, hr


def skimage_scores(sr: np.ndarray, hr: np.ndarray, shave: int) -> dict[str, float]:
    """The protocol's four numbers with scikit-image's PSNR and SSIM, on (H, W, 3) uint8 images."""
    sr, hr = sr.astype(np.float64), hr.astype(np.float64)
    sr_y, hr_y = 16 + sr @ _Y / 255, 16 + hr @ _Y / 255
    crop = (slice(shave, -shave), slice(shave, -shave))
    sr, hr, sr_y, hr_y = sr[crop], hr[crop], sr_y[crop], hr_y[crop]
    ssim = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "data_range": 255}
    return {
        "psnr_y": peak_signal_noise_ratio(hr_y, sr_y, data_range=255),
        "ssim_y": structural_similarity(hr_y, sr_y, **ssim),
        "psnr_rgb": peak_signal_noise_ratio(hr, sr, data_range=255),
        "ssim_rgb": structural_similarity(hr, sr, channel_axis=2, **ssim),
    }


def project_scores(sr: torch.Tensor, hr: torch.Tensor, shave: int) -> dict[str, float]:
    return {k: float(v) for k, v in score(sr, hr, shave).items()}


def bench(quick: bool = False) -> dict[str, Any]:
    size = 128 if quick else 512
    repeats, calls = (1, 1) if quick else (7, 3)
    sr, hr = _pair(size)
    sr_t = torch.from_numpy(sr).permute(2, 0, 1)[None].float()
    hr_t = torch.from_numpy(hr).permute(2, 0, 1)[None].float()
    ours, ref = project_scores(sr_t, hr_t, SHAVE), skimage_scores(sr, hr, SHAVE)
    diff = {k: abs(ours[k] - ref[k]) for k in ours}
    if max(diff["psnr_y"], diff["psnr_rgb"]) > 1e-4 or max(diff["ssim_y"], diff["ssim_rgb"]) > 1e-4:
        raise AssertionError(f"src.protocol.metrics.score and scikit-image disagree: {ours} vs {ref}")

    def ours_run() -> float:
        return seconds(lambda: [score(sr_t, hr_t, SHAVE) for _ in range(calls)]) / calls

    def ref_run() -> float:
        return seconds(lambda: [skimage_scores(sr, hr, SHAVE) for _ in range(calls)]) / calls

    res = interleaved(ref_run, ours_run, repeats)
    return {
        "summary": f"{1000 * res.b:.0f} vs {1000 * res.a:.0f} ms per {size}x{size} image (4 metrics)",
        "metric_speed_vs_skimage": res.ratio,
        "ours_ms_per_image": 1000 * res.b,
        "skimage_ms_per_image": 1000 * res.a,
        "max_abs_difference": diff,
        "runs (a = skimage seconds, b = ours seconds)": res.as_dict(),
        "setup": {
            "images": f"{size}x{size} RGB (scikit-image astronaut) and a noisy copy, shave {SHAVE}",
            "computed": "PSNR and SSIM on Y and on RGB (channel-wise mean), one image per call",
            "skimage": "peak_signal_noise_ratio + structural_similarity(gaussian_weights=True, sigma=1.5, "
            "use_sample_covariance=False, data_range=255)",
        },
    }

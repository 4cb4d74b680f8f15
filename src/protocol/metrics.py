"""The evaluation protocol of the SR literature, in one place. Pure functions on tensors; no file I/O.

Every number this project reports (training validation, `src.evaluate`, benchmarks) goes through `score`.
The quirks below are what make PSNR/SSIM comparable with published tables (docs/protocol.md gives the sources):
- the SR output is rounded and clamped to uint8 levels before any metric;
- HR is cropped to (LR size) x scale, because benchmark HR images are not multiples of the scale;
- a border of `shave` pixels is ignored (scale for benchmarks, scale + 6 for DIV2K as in EDSR-PyTorch);
- Y is MATLAB's BT.601 `rgb2ycbcr` luma on 0..255 values, not rounded;
- SSIM is Wang et al.'s: 11x11 Gaussian (sigma 1.5), K1 0.01, K2 0.03, data range 255, averaged over the
  'valid' region only, computed in float64 (within 1e-9 of scikit-image's float64 `structural_similarity`);
- a set's PSNR is the mean of per-image PSNRs, never the PSNR of pooled MSE;
- single-channel images are scored on their one channel as it is (no Y conversion), as published tables do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torchmetrics import Metric
from torchmetrics.functional.image import peak_signal_noise_ratio
from torchmetrics.utilities import dim_zero_cat

METRICS = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")

_SSIM_KERNEL = 11
_SSIM_SIGMA = 1.5
_DATA_RANGE = 255.0
_K1, _K2 = 0.01, 0.03
# MATLAB rgb2ycbcr on uint8 values: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255.
_Y_WEIGHTS = (65.481, 128.553, 24.966)


def shave_for(set_name: str, scale: int) -> int:
    """Border ignored when scoring: EDSR-PyTorch shaves scale + 6 on DIV2K, `scale` on the benchmarks."""
    return scale + 6 if set_name.upper().startswith("DIV2K") else scale


def smallest_scorable(scale: int, shave: int) -> int:
    """The smallest HR side that leaves SSIM's 11x11 window room once the image is cropped to a multiple of
    the scale and `shave` pixels are shaved from each border (checked before training, not after it)."""
    return -(-(_SSIM_KERNEL + 2 * shave) // scale) * scale


def quantize(img: torch.Tensor) -> torch.Tensor:
    """Round and clamp to the uint8 levels an SR image is saved with (as float, for the metric math)."""
    return img.clamp(0, 255).round()


def rgb_to_y(img: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in 0..255 -> (N, 1, H, W) MATLAB Y in 16..235, unrounded."""
    w = torch.tensor(_Y_WEIGHTS, dtype=img.dtype, device=img.device).view(1, 3, 1, 1)
    return 16.0 + (img * w).sum(dim=1, keepdim=True) / 255.0


def crop_hr(hr: torch.Tensor, sr: torch.Tensor) -> torch.Tensor:
    """Crop HR (..., H, W) to the SR size, i.e. (LR size) x scale, from the top-left as `modcrop` does."""
    h, w = sr.shape[-2:]
    if hr.shape[-2] < h or hr.shape[-1] < w:
        raise ValueError(f"HR {tuple(hr.shape[-2:])} is smaller than SR {(h, w)}: LR and HR do not belong together")
    return hr[..., :h, :w]


def shave_border(img: torch.Tensor, shave: int) -> torch.Tensor:
    return img[..., shave:-shave, shave:-shave] if shave > 0 else img


def psnr(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for (N, C, H, W) batches: (N,)."""
    return peak_signal_noise_ratio(sr, hr, data_range=_DATA_RANGE, reduction="none", dim=(1, 2, 3))


def _gaussian_window(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The 1-D factor of Wang et al.'s 11x11 Gaussian window (sigma 1.5), normalised to sum 1."""
    x = torch.arange(_SSIM_KERNEL, dtype=dtype, device=device) - _SSIM_KERNEL // 2
    g = torch.exp(-(x**2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _filter_valid(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Gaussian-filter each channel of (N, C, H, W) where the window fits (MATLAB's 'valid'), separably."""
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def ssim(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """Per-image SSIM for (N, C, H, W) batches: (N,), channels averaged, as MATLAB's `ssim` on each channel.

    Wang et al.'s formula with local statistics from the Gaussian window, averaged only where the 11x11 window
    fits (the reference's 'valid' region). It runs in float64: the local variance E[x^2] - E[x]^2 cancels
    catastrophically in float32 where an image is flat (screenshots, text, man-made scenes), which moved SSIM by
    up to 3e-4. The Gaussian is separable, so two 1-D passes in float64 cost less than torchmetrics' full 11x11
    float32 convolution over the padded image.
    """
    sr, hr = sr.to(torch.float64), hr.to(torch.float64)
    if min(sr.shape[-2:]) < _SSIM_KERNEL:
        raise ValueError(f"SSIM needs at least {_SSIM_KERNEL}x{_SSIM_KERNEL} pixels, got {tuple(sr.shape[-2:])}")
    n, c = sr.shape[:2]
    g = _gaussian_window(torch.float64, sr.device)
    stats = _filter_valid(torch.cat([sr, hr, sr * sr, hr * hr, sr * hr], dim=1), g)
    mu_x, mu_y, xx, yy, xy = stats.split(c, dim=1)
    var_x, var_y, cov = xx - mu_x * mu_x, yy - mu_y * mu_y, xy - mu_x * mu_y
    c1, c2 = (_K1 * _DATA_RANGE) ** 2, (_K2 * _DATA_RANGE) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.reshape(n, -1).mean(dim=1)


def score(sr: torch.Tensor, hr: torch.Tensor, shave: int) -> dict[str, torch.Tensor]:
    """PSNR and SSIM on Y and on RGB for a batch, each a (N,) float64 tensor keyed as in `METRICS`.

    `sr` is the raw network output (N, 3, H, W) in [0, 255]; `hr` is (N, C, H', W') with C = 3, or 1 for a
    grey image, whose SR output is reduced to one channel by averaging (the network sees grey as R=G=B).
    """
    sr = quantize(sr.detach().to(torch.float64))
    hr = crop_hr(hr.detach().to(torch.float64), sr)
    if hr.shape[1] == 1:
        sr = quantize(sr.mean(dim=1, keepdim=True)) if sr.shape[1] != 1 else sr
        sr_y, hr_y = sr, hr
    else:
        sr_y, hr_y = rgb_to_y(sr), rgb_to_y(hr)
    sr, hr = shave_border(sr, shave), shave_border(hr, shave)
    sr_y, hr_y = shave_border(sr_y, shave), shave_border(hr_y, shave)
    return {
        "psnr_y": psnr(sr_y, hr_y),
        "ssim_y": ssim(sr_y, hr_y),
        "psnr_rgb": psnr(sr, hr),
        "ssim_rgb": ssim(sr, hr),
    }


class SetScores(Metric):
    """Per-image scores of one image set, gathered across DDP ranks; a set's value is the per-image mean.

    Images are keyed by their index in the set, so the repeats a DistributedSampler pads with count once.
    """

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        self.add_state("index", default=[], dist_reduce_fx="cat")
        self.add_state("values", default=[], dist_reduce_fx="cat")

    def update(self, index: torch.Tensor, scores: dict[str, torch.Tensor]) -> None:
        self.index.append(index.reshape(-1).long())
        self.values.append(torch.stack([scores[k].reshape(-1).double() for k in METRICS], dim=1))

    def compute(self) -> dict[int, dict[str, float]]:
        """{image index: {metric: value}}, sorted by index."""
        index = dim_zero_cat(self.index).tolist()
        values = dim_zero_cat(self.values).tolist()
        per_image = {i: dict(zip(METRICS, v, strict=True)) for i, v in zip(index, values, strict=True)}
        return dict(sorted(per_image.items()))


def summarize(per_image: dict[str, dict[str, float]]) -> dict[str, float]:
    """Set-level value of each metric: the mean over images (the SR literature's convention)."""
    return {k: sum(v[k] for v in per_image.values()) / len(per_image) for k in METRICS}

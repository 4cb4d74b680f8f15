"""A small EDSR trained for a few hundred steps on real photos, for checks that random weights cannot make.

Random weights reach only a few pixels; trained ones use their whole receptive field, and their outputs have the
flat areas where float32 statistics cancel. Cached per process, so tests share one training run (seconds).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F
from skimage import data

from src.models.edsr import EDSR

PHOTOS = ("astronaut", "coffee", "chelsea")


def photos() -> list[torch.Tensor]:
    """scikit-image's bundled RGB photos as (3, H, W) float tensors in [0, 255] (no downloads)."""
    return [torch.from_numpy(np.ascontiguousarray(getattr(data, n)())).permute(2, 0, 1).float() for n in PHOTOS]


@functools.cache
def trained_edsr(scale: int = 2, steps: int = 300) -> EDSR:
    """EDSR (4 blocks, 16 features) trained with L1 on random 48-pixel HR crops and their bicubic LR."""
    torch.manual_seed(0)
    net = EDSR(scale, n_resblocks=4, n_feats=16)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    images = photos()
    size = 24 * scale
    for _ in range(steps):
        crops = []
        for i in torch.randint(len(images), (8,)).tolist():
            img = images[i]
            y = int(torch.randint(img.shape[1] - size, ()))
            x = int(torch.randint(img.shape[2] - size, ()))
            crops.append(img[:, y : y + size, x : x + size])
        hr = torch.stack(crops)
        lr = F.interpolate(hr, scale_factor=1 / scale, mode="bicubic", antialias=True).clamp(0, 255)
        loss = F.l1_loss(net(lr), hr)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return net.eval()

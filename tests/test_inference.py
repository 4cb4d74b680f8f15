"""Tiled inference and self-ensemble (src/models/inference.py), and the upscale tool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from src.data.images import read_image
from src.data.imresize import imresize
from src.models.bicubic import Bicubic
from src.models.edsr import EDSR
from src.models.inference import receptive_radius, self_ensemble, super_resolve
from src.protocol.metrics import psnr, quantize
from src.runtime.lit_module import SRModule
from tests.helpers import run_cli
from tests.trained import photos, trained_edsr


def test_tiled_output_matches_untiled_within_one_grey_level() -> None:
    torch.manual_seed(0)
    net = EDSR(2, n_resblocks=4, n_feats=16).eval()
    lr = torch.rand(1, 3, 70, 90) * 255
    whole = super_resolve(net, lr, 2).round()
    tiled = super_resolve(net, lr, 2, tile=32, tile_overlap=16).round()
    assert tiled.shape == whole.shape == (1, 3, 140, 180)
    assert (tiled - whole).abs().max().item() <= 1


def test_tiles_without_context_would_differ() -> None:  # the overlap is what makes tiling exact
    torch.manual_seed(0)
    net = EDSR(2, n_resblocks=4, n_feats=16).eval()
    lr = torch.rand(1, 3, 64, 64) * 255
    assert (super_resolve(net, lr, 2, tile=16, tile_overlap=0) - super_resolve(net, lr, 2)).abs().max() > 1


def test_the_default_overlap_is_the_networks_receptive_radius() -> None:
    # head, 2 per block, body end, one upsampler conv per factor of 2 (x3: one), tail: full EDSR reaches 68.
    assert EDSR(2, n_resblocks=32, n_feats=256).receptive_radius() == 68
    assert EDSR(4, n_resblocks=32, n_feats=256).receptive_radius() == 69
    assert EDSR(3, n_resblocks=16, n_feats=64).receptive_radius() == 36
    net = EDSR(2, n_resblocks=1, n_feats=4).eval()
    assert receptive_radius(net) == 6 and receptive_radius(SRModule(net, 2)) == 6
    assert receptive_radius(Bicubic(2)) == 2
    # An impulse at LR pixel 11 changes HR rows up to the radius away (the last conv, at HR, adds half a pixel).
    lr = torch.zeros(1, 3, 23, 23)
    lr[..., 11, 11] = 255.0
    with torch.no_grad():
        changed = (net(lr) - net(torch.zeros_like(lr))).abs().amax(dim=(0, 1, 3)) > 0
    rows = changed.nonzero().flatten()
    reach = max(11 * 2 - rows.min().item(), rows.max().item() - (11 * 2 + 1)) / 2
    assert 5 <= reach <= 6


def test_tiled_equals_untiled_at_the_default_overlap_with_trained_weights() -> None:
    net = trained_edsr(2)
    lr = F.interpolate(photos()[0][None, :, :300, :400], scale_factor=0.5, mode="bicubic", antialias=True)
    lr = lr.clamp(0, 255).round()
    whole = quantize(super_resolve(net, lr, 2))
    tiled = quantize(super_resolve(net, lr, 2, tile=40))
    diff = (tiled - whole).abs()
    assert diff.max().item() <= 1
    assert (diff == 0).double().mean().item() >= 0.9999
    hr = photos()[0][None, :, :300, :400]
    assert abs(psnr(tiled.double(), hr.double()).item() - psnr(whole.double(), hr.double()).item()) < 1e-3
    short = quantize(super_resolve(net, lr, 2, tile=40, tile_overlap=2))  # too little context is visible
    assert (short - whole).abs().max().item() > 1


def test_self_ensemble_averages_the_eight_dihedral_views() -> None:
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5)
    assert torch.allclose(self_ensemble(lambda t: t * 2, x), x * 2)  # equivariant: ensemble changes nothing
    asym = self_ensemble(lambda t: t + torch.arange(t.shape[-1], dtype=t.dtype), torch.zeros(1, 1, 4, 4))
    assert torch.allclose(asym, torch.full((1, 1, 4, 4), 1.5))  # the position ramp averages out over flips


@pytest.mark.slow
def test_upscale_writes_bicubic_images_and_a_rerun_continues(benchmark_dir: Path, tmp_path: Path) -> None:
    lr_dir = benchmark_dir / "Set5" / "LR_bicubic" / "X2"
    out = tmp_path / "sr"
    proc = run_cli("src.upscale", "model=bicubic", "scale=2", f"input={lr_dir}", f"output={out}", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    produced = sorted(p.name for p in out.iterdir())
    assert produced == sorted(f"{p.stem}_x2.png" for p in lr_dir.iterdir())
    lr = read_image(lr_dir / "birdx2.png")
    assert np.array_equal(read_image(out / "birdx2_x2.png"), imresize(lr, 2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sr"]  # nothing else written
    before = (out / "birdx2_x2.png").stat().st_mtime_ns
    (out / "babyx2_x2.png").unlink()  # as if the first run had been stopped before this image
    again = run_cli("src.upscale", "model=bicubic", "scale=2", f"input={lr_dir}", f"output={out}", cwd=tmp_path)
    assert again.returncode == 0 and "skipping 4 image(s)" in again.stdout, again.stderr[-2000:]
    assert (out / "birdx2_x2.png").stat().st_mtime_ns == before and (out / "babyx2_x2.png").exists()


@pytest.mark.slow
def test_upscale_with_a_checkpoint_tiled_and_ensembled(benchmark_dir: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)
    ckpt = tmp_path / "x2.pt"
    torch.save(EDSR(2, n_resblocks=2, n_feats=8).state_dict(), ckpt)
    image = benchmark_dir / "Set14" / "LR_bicubic" / "X2" / "bridgex2.png"  # grey in, grey out
    args = ["model.net.n_resblocks=2", "model.net.n_feats=8", f"ckpt={ckpt}", f"input={image}"]
    whole = run_cli("src.upscale", *args, f"output={tmp_path / 'a'}", cwd=tmp_path)
    tiled = run_cli("src.upscale", *args, f"output={tmp_path / 'b'}", "tile=48", "self_ensemble=true", cwd=tmp_path)
    assert whole.returncode == 0 and tiled.returncode == 0, whole.stderr[-2000:] + tiled.stderr[-2000:]
    a, b = read_image(tmp_path / "a" / "bridgex2_x2.png"), read_image(tmp_path / "b" / "bridgex2_x2.png")
    lr = read_image(image)
    assert a.shape == (lr.shape[0] * 2, lr.shape[1] * 2, 1) and b.shape == a.shape

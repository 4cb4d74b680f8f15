"""Tiled inference and self-ensemble (src/models/inference.py), and the upscale tool."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from src.data.images import read_image
from src.data.imresize import imresize
from src.models.edsr import EDSR
from src.models.inference import self_ensemble, super_resolve
from tests.helpers import run_cli


def test_tiled_output_matches_untiled_within_one_grey_level() -> None:
    torch.manual_seed(0)
    net = EDSR(2, n_resblocks=4, n_feats=16).eval()
    lr = torch.rand(1, 3, 70, 90) * 255
    whole = super_resolve(net, lr, 2).round()
    tiled = super_resolve(net, lr, 2, tile=32, overlap=16).round()
    assert tiled.shape == whole.shape == (1, 3, 140, 180)
    assert (tiled - whole).abs().max().item() <= 1


def test_tiles_without_context_would_differ() -> None:  # the overlap is what makes tiling exact
    torch.manual_seed(0)
    net = EDSR(2, n_resblocks=4, n_feats=16).eval()
    lr = torch.rand(1, 3, 64, 64) * 255
    assert (super_resolve(net, lr, 2, tile=16, overlap=0) - super_resolve(net, lr, 2)).abs().max() > 1


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

"""`python -m src.upscale`: images in, super-resolved images out (ours, official EDSR weights, or bicubic)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

import src.config  # noqa: F401  (registers the resolvers the configs use)
from src.cli import user_errors_exit
from src.errors import UserError

log = logging.getLogger(__name__)


def _inputs(path: Path) -> list[Path]:
    from src.data.images import list_images

    if path.is_file():
        return [path]
    if path.is_dir():
        files = list_images(path)
        if files:
            return files
        raise UserError(f"no images in {path}; pass input= an image file or a folder of .png/.jpg images")
    raise UserError(f"input not found: {path}; pass input= an existing image or folder")


def upscale(cfg: DictConfig) -> list[Path]:
    from src.data.datasets import to_tensor
    from src.data.images import read_image, write_image
    from src.data.layout import check_scale
    from src.models.build import build_model, pick_device
    from src.models.inference import super_resolve

    check_scale(int(cfg.scale))
    files = _inputs(Path(cfg.input))
    out_dir = Path(cfg.output)
    targets = [out_dir / f"{f.stem}_x{cfg.scale}.png" for f in files]
    existing = [t for t in targets if t.exists()]
    if existing and not cfg.force:
        raise UserError(f"{existing[0]} exists ({len(existing)} output(s) would be overwritten); pass force=true")
    device = pick_device(str(cfg.device))
    net = build_model(cfg).to(device)
    for src_file, target in zip(files, targets, strict=True):
        img = read_image(src_file, max_pixels=cfg.data.max_pixels)
        lr = to_tensor(img, 3)[None].to(device)
        sr = super_resolve(net, lr, int(cfg.scale), cfg.tile, cfg.tile_overlap, bool(cfg.self_ensemble))
        sr = sr[0].clamp(0, 255).round()
        if img.shape[2] == 1:  # grey in, grey out
            sr = sr.mean(dim=0, keepdim=True).round()
        write_image(target, sr.permute(1, 2, 0).to(torch.uint8).cpu().numpy())
        print(f"{src_file} -> {target} ({sr.shape[2]}x{sr.shape[1]})", flush=True)
    return targets


@hydra.main(version_base="1.3", config_path="../conf", config_name="upscale")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    upscale(cfg)


if __name__ == "__main__":
    main()

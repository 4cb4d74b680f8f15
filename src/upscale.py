"""`python -m src.upscale`: images in, super-resolved images out (ours, official EDSR weights, or bicubic)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from src.contracts import resolvers
from src.contracts.errors import UserError, user_errors_exit
from src.contracts.identity import job_identity

resolvers.register()  # before Hydra composes any config

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
    from src.contracts.checks import checked_scale
    from src.data.datasets import to_tensor
    from src.data.images import read_image, write_image
    from src.models.build import build_model, pick_device
    from src.models.inference import super_resolve

    scale = checked_scale(cfg.scale)
    files = _inputs(Path(cfg.input))
    out_dir = Path(cfg.output)
    targets = [out_dir / f"{f.stem}_x{scale}.png" for f in files]
    todo = [(f, t) for f, t in zip(files, targets, strict=True) if cfg.force or not t.exists()]
    if len(todo) < len(files):  # an interrupted run continues where it stopped (outputs are written atomically)
        print(f"skipping {len(files) - len(todo)} image(s) whose output exists in {out_dir} (force=true redoes them)")
    if not todo:
        return targets
    device = pick_device(str(cfg.device))
    net = build_model(cfg, job_identity(cfg))[0].to(device)
    for src_file, target in todo:
        img = read_image(src_file, max_pixels=cfg.data.max_pixels)
        lr = to_tensor(img, 3)[None].to(device)
        sr = super_resolve(net, lr, scale, cfg.tile, cfg.tile_overlap, bool(cfg.self_ensemble))
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

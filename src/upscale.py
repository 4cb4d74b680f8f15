"""`python -m src.upscale`: images in, super-resolved images out (ours, official EDSR weights, or bicubic)."""

from __future__ import annotations

import logging
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig

from src.contracts import resolvers
from src.contracts.ctrl_c import ctrl_c_stops
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


def output_names(files: list[Path], out_dir: Path, scale: int) -> dict[Path, Path]:
    """Where each image goes: `<stem>_x<scale>.png`, or `<stem>_<ext>_x<scale>.png` for images whose stems
    collide (`baby.png` and `baby.jpg`), so that no output overwrites another; any remaining clash is refused."""
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    names = {
        f: out_dir / (f"{f.stem}_x{scale}.png" if stems[f.stem] == 1 else f"{f.stem}_{f.suffix[1:]}_x{scale}.png")
        for f in files
    }
    seen: dict[Path, Path] = {}
    for f, target in names.items():
        if target in seen:
            raise UserError(f"{seen[target].name} and {f.name} would both write {target}; rename one of them")
        seen[target] = f
    return names


def plan(files: list[Path], out_dir: Path, scale: int) -> dict[Path, Path]:
    """The outputs of `files`, leaving out images that are themselves outputs of this run (an output folder
    that is the input folder: a rerun must not upscale `a_x2.png` into `a_x2_x2.png`)."""
    outputs = {t.resolve() for t in output_names(files, out_dir, scale).values()}
    inputs = [f for f in files if f.resolve() not in outputs]
    if len(inputs) < len(files):
        print(f"leaving out {len(files) - len(inputs)} image(s) of {out_dir} that are outputs of this command")
    return output_names(inputs, out_dir, scale)


def upscale(cfg: DictConfig) -> list[Path]:
    from src.contracts.checks import check_scoring
    from src.data.datasets import to_tensor
    from src.data.images import read_image, write_image
    from src.models.build import build_model, pick_device
    from src.models.inference import super_resolve

    check_scoring(cfg)
    scale = int(cfg.scale)
    source = Path(cfg.input)
    out_dir = Path(cfg.output)
    named = plan(_inputs(source), out_dir, scale) if source.is_dir() else output_names(_inputs(source), out_dir, scale)
    todo = [(f, t) for f, t in named.items() if cfg.force or not t.exists()]
    if len(todo) < len(named):  # an interrupted run continues where it stopped (outputs are written atomically)
        print(f"skipping {len(named) - len(todo)} image(s) whose output exists in {out_dir} (force=true redoes them)")
    if not todo:
        return list(named.values())
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
    return list(named.values())


@hydra.main(version_base="1.3", config_path="../conf", config_name="upscale")
@user_errors_exit
def main(cfg: DictConfig) -> None:
    with ctrl_c_stops("the images written so far are kept; rerun the same command to continue"):
        upscale(cfg)


if __name__ == "__main__":
    main()

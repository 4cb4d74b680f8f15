"""`python -m src.evaluate`: checkpoint | official EDSR weights | bicubic -> results.json and a table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import src.config  # noqa: F401  (registers the resolvers the configs use)
from src.cli import user_errors_exit
from src.errors import UserError
from src.results import make_results, write_results

log = logging.getLogger(__name__)


def pick_device(spec: str) -> torch.device:
    if spec != "auto":
        return torch.device(spec)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def build_model(cfg: DictConfig) -> torch.nn.Module:
    """The configured network with its weights, or bicubic; an EDSR preset needs `ckpt=`."""
    from src.models.weights import load_weights, read_state_dict

    net = instantiate(cfg.model.net)
    if cfg.model.name == "bicubic":
        return net.eval()
    if not cfg.get("ckpt"):
        raise UserError(
            f"model={cfg.model.name} needs weights: pass ckpt=<file>.ckpt (ours) or ckpt=<official EDSR .pt>, "
            "or score the baseline with model=bicubic"
        )
    path = Path(cfg.ckpt)
    load_weights(net, read_state_dict(path), path)
    return net.eval()


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    from src.data.layout import check_scale
    from src.models.edsr import count_trainable
    from src.scoring import format_table, score_sets
    from src.train import job_identity

    check_scale(int(cfg.scale))
    if cfg.data.get("bundled"):
        from src.data.demo import build_bundled

        build_bundled(cfg.data.bundled, Path(cfg.paths.data_dir))
    device = pick_device(str(cfg.device))
    net = build_model(cfg).to(device)
    identity = job_identity(cfg)
    if cfg.model.name == "bicubic":
        identity |= {"activation": None, "activation_params": {}, "name": f"bicubic-x{cfg.scale}"}
    metrics = score_sets(
        net,
        Path(cfg.paths.data_dir),
        list(cfg.data.test_sets),
        int(cfg.scale),
        tile=cfg.tile,
        tile_overlap=int(cfg.tile_overlap),
        self_ensemble=bool(cfg.self_ensemble),
        device=device,
        cache_dir=Path(cfg.data.cache_dir) if cfg.data.cache_dir else None,
        progress=log.info,
    )
    results = make_results(
        **identity,
        status="finished",
        params=count_trainable(net),
        world_size=1,
        train=None,
        metrics=metrics,
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    out = Path(cfg.paths.output_dir)
    write_results(out, results)
    print(format_table(metrics))
    print(f"-> {out / 'results.json'}")
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    results = evaluate(cfg)
    first = next(iter(results["metrics"].values()), None)
    return first["psnr_y"] if first else None


if __name__ == "__main__":
    main()

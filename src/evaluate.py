"""`python -m src.evaluate`: checkpoint | official EDSR weights | bicubic -> results.json and a table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
from omegaconf import DictConfig, OmegaConf

from src.contracts import resolvers
from src.contracts.ctrl_c import ctrl_c_stops
from src.contracts.errors import user_errors_exit
from src.contracts.identity import job_identity
from src.contracts.results import FINISHED, job_labels, make_results, write_results

resolvers.register()  # before Hydra composes any config

log = logging.getLogger(__name__)


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    from src.contracts.checks import check_scoring
    from src.models.build import build_model, pick_device
    from src.models.edsr import count_trainable
    from src.protocol.scoring import format_table, score_sets

    check_scoring(cfg)
    if cfg.data.get("bundled"):
        from src.data.demo import build_bundled

        build_bundled(cfg.data.bundled, Path(cfg.paths.data_dir))
    device = pick_device(str(cfg.device))
    identity = job_identity(cfg)
    net, source = build_model(cfg, identity)
    net = net.to(device)
    labels = job_labels(cfg)
    if cfg.model.name == "bicubic":
        labels |= {"activation": None, "activation_params": {}, "name": f"bicubic-x{cfg.scale}"}
    metrics = score_sets(
        net,
        Path(cfg.paths.data_dir),
        list(cfg.data.test_sets),
        int(cfg.scale),
        tile=cfg.tile,
        tile_overlap=cfg.tile_overlap,
        self_ensemble=bool(cfg.self_ensemble),
        device=device,
        cache_dir=Path(cfg.data.cache_dir) if cfg.data.cache_dir else None,
        max_pixels=cfg.data.max_pixels,
        progress=log.info,
    )
    results = make_results(
        **labels,
        identity=identity,
        status=FINISHED,
        params=count_trainable(net),
        world_size=1,
        train=None,
        metrics=metrics,
        config=OmegaConf.to_container(cfg, resolve=True),
    )
    if source is not None:
        results["checkpoint_identity"] = source  # beside the requested identity, which may differ (allow_mismatch)
    written = write_results(Path(cfg.paths.output_dir), results)
    print(format_table(metrics))
    print(f"-> {written}")
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
@user_errors_exit
def main(cfg: DictConfig) -> float | None:
    with ctrl_c_stops("no results.json was written; rerun the same command to score"):
        results = evaluate(cfg)
    first = next(iter(results["metrics"].values()), None)
    return first["psnr_y"] if first else None


if __name__ == "__main__":
    main()

"""`results.json`: the one machine-readable record every job (train or evaluate) leaves in its directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from src.contracts.atomic import atomic_write

RESULTS_FILE = "results.json"
# A job's `status`: what the report averages (FINISHED) and what it lists apart (DIVERGED).
FINISHED = "finished"
DIVERGED = "diverged"


def job_identity(cfg: Any) -> dict[str, Any]:
    """What a job is, from its composed config: the names shared by results.json, W&B and the progress line."""
    from omegaconf import OmegaConf

    from src.models.activations import activation_label

    params = OmegaConf.to_container(cfg.activation.params, resolve=True) if cfg.activation.params else {}
    seed = cfg.get("seed")
    label = activation_label(cfg.activation.name, **params)
    return {
        "model": cfg.model.name,
        "activation": label,
        "activation_params": params,
        "scale": int(cfg.scale),
        "seed": None if seed is None else int(seed),
        "name": f"{cfg.model.name}-{label}-x{cfg.scale}" + ("" if seed is None else f"-s{seed}"),
    }


def make_results(
    *,
    name: str,
    status: str,
    model: str,
    activation: str | None,
    activation_params: dict[str, Any],
    scale: int,
    seed: int | None,
    params: int,
    world_size: int,
    train: dict[str, Any] | None,
    metrics: dict[str, Any],
    config: dict[str, Any],
    history: dict[str, list] | None = None,
    diverged_at_step: int | None = None,
    precision: str | None = None,
    batch: dict[str, int] | None = None,
) -> dict[str, Any]:
    """The schema shared by `src.train`, `src.evaluate` and read by `src.report` (see README)."""
    return {
        "name": name,
        "status": status,
        "diverged_at_step": diverged_at_step,
        "model": model,
        "activation": activation,
        "activation_params": activation_params,
        "scale": scale,
        "seed": seed,
        "params": params,
        "world_size": world_size,
        # Training precision (Lightning's name, e.g. "32-true", "bf16-mixed") and the global and per-device batch:
        # jobs that differ in these are different experiments (None for src.evaluate).
        "precision": precision,
        "batch": batch,
        "train": train,
        "metrics": metrics,
        "history": history or {},
        "config": config,
    }


def write_results(directory: Path, results: dict[str, Any]) -> Path:
    """Write atomically, so a crash never leaves a half file that a rerun would take as finished."""
    payload = json.dumps(results, indent=2).encode()
    return atomic_write(Path(directory) / RESULTS_FILE, lambda f: f.write(payload))


def read_results(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def find_results(root: Path, **match: Any) -> Path | None:
    """The directory of the first finished job below `root` whose results.json has all of `match`."""
    for path in sorted(Path(root).rglob(RESULTS_FILE)):
        try:
            results = read_results(path)
        except (OSError, ValueError):
            continue
        if results.get("status") == FINISHED and all(results.get(k) == v for k, v in match.items()):
            return path.parent
    return None

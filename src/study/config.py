"""Hydra composes the study: conf/study.yaml with the `study.*` overrides, and src.train's config with the rest.

The train config is composed only to read what the study must know before launching anything: whether x3/x4
jobs start from x2 jobs (`init_from: x2`), and the value each level gives the factor's key (how a finished job
is recognised as that level's).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.study.endpoint import value_key

CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose(config_name: str, overrides: Sequence[str]) -> Any:
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from src.contracts import resolvers

    resolvers.register()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot compose the {config_name} config: {first}") from None


def study_section(overrides: Sequence[str]) -> dict[str, Any]:
    """conf/study.yaml's `study:` with the command's `study.*` overrides."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(compose("study", overrides).study, resolve=True)


def level_keys(factor: str, levels: Sequence[str], overrides: Sequence[str]) -> tuple[dict[str, str], Any]:
    """{level: its factor value as text} and the composed train config of the first level."""
    from omegaconf import OmegaConf

    job_overrides = [o for o in overrides if not o.lstrip("+~").startswith(("hydra.", "hydra/"))]
    keys: dict[str, str] = {}
    first = None
    for level in levels:
        cfg = compose("train", [*job_overrides, f"{factor}={level}"])
        first = first if first is not None else cfg
        value = OmegaConf.select(cfg, factor)
        keys[level] = value_key(OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value)
    duplicated = [lv for lv in levels if list(keys.values()).count(keys[lv]) > 1]
    if duplicated:
        raise UserError(f"levels {', '.join(duplicated)} give {factor} the same value; list each level once")
    return keys, first

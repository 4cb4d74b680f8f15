"""The study's one adapter to finished jobs: per-seed differences of Table 1's primary endpoint.

The primary endpoint of a (scale, level) comparison, as in the report: per seed, the mean over the test sets of
the level's Y-PSNR minus the reference's of the same seed. Sets are those both jobs of the seed scored; a seed
counts only when both its jobs finished (a diverged or unfinished job leaves its seed out, and the look records
it). A job's level is its config's value at the factor's key, so any config key can be the factor.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.identity import SEED, describe_differences, without
from src.contracts.results import finished_records
from src.report.collect import identity_of

METRIC = "psnr_y"


def value_key(value: Any) -> str:
    """A config value as comparable text (a section such as `activation` is a dict)."""
    return json.dumps(value, sort_keys=True, default=str)


def config_value(config: Mapping[str, Any], key: str) -> Any:
    node: Any = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def finished_jobs(root: Path, factor: str) -> list[dict[str, Any]]:
    """Every readable results.json below `root` whose job finished; a UserError naming the keys when two of them
    differ in more than the factor, the scale and the seed (the report's rule: those are not one experiment)."""
    jobs = [results for _, results in finished_records(root)]
    _one_setting(jobs, factor, root)
    return jobs


def _one_setting(jobs: list[dict[str, Any]], factor: str, root: Path) -> None:
    settings = [without(identity_of(results), factor, SEED, "scale") for results in jobs]
    for setting in settings[1:]:
        if setting != settings[0]:
            raise UserError(
                f"{root}: its jobs differ in more than {factor}, the scale and the seed "
                f"({describe_differences(settings[0], setting)}); a study compares one experiment: give each "
                "its own hydra.sweep.dir"
            )


def by_seed(jobs: Iterable[dict[str, Any]], factor: str, level: str, scale: int) -> dict[int, dict[str, float]]:
    """seed -> {test set: Y-PSNR} of the jobs at `scale` whose factor value has key `level`."""
    out: dict[int, dict[str, float]] = {}
    for results in jobs:
        if results.get("scale") != scale or results.get("seed") is None:
            continue
        if value_key(config_value(results.get("config") or {}, factor)) != level:
            continue
        sets = {name: float(m.get(METRIC, math.nan)) for name, m in (results.get("metrics") or {}).items()}
        out[int(results["seed"])] = sets
    return out


def primary_differences(
    jobs: list[dict[str, Any]], factor: str, level: str, reference: str, scale: int, seeds: Iterable[int]
) -> dict[int, float]:
    """seed -> mean over the shared test sets of (level - reference) Y-PSNR, for the `seeds` both finished."""
    ours, theirs = by_seed(jobs, factor, level, scale), by_seed(jobs, factor, reference, scale)
    diffs = {}
    for seed in seeds:
        if seed not in ours or seed not in theirs:
            continue
        shared = sorted(set(ours[seed]) & set(theirs[seed]))
        values = [ours[seed][s] - theirs[seed][s] for s in shared]
        if values and all(math.isfinite(v) for v in values):
            diffs[seed] = sum(values) / len(values)
    return diffs

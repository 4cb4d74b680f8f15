"""What a job is: its resolved config minus the few keys that cannot change its numbers.

One rule for every reader: two jobs are replicates when their identities differ only in `seed`; they are
compared when they differ only in the factor under test (a config key such as `activation` or `optim.lr`) and
`seed`. Anything else that differs makes them different experiments, and whoever refuses to pool or compare
them names the keys (`differences`).

A key whose value is only an interpolation of another key (`model.net.act: ${activation.name}`,
`data.scale: ${scale}`) is a copy, not a fact: it is dropped, so the factor `activation` is the `activation`
section alone and a copy never makes two jobs look different twice.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from typing import Any

# Keys (and everything under them) that cannot change a job's numbers: where files go, how progress and
# W&B are shown, how fast data is fed (the sample stream is a pure function of seed and step), the
# decompression-bomb guard, force (which only decides whether to redo), and how the report judges the sweep.
NOT_IDENTITY: tuple[str, ...] = (
    "paths",
    "report",
    "hydra",
    "logger",
    "callbacks",
    "task_name",
    "force",
    "data.data_dir",
    "data.cache_dir",
    "data.num_workers",
    "data.pin_memory",
    "data.max_pixels",
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
    "trainer.log_every_n_steps",
)
SEED = "seed"

# `${a.b}` alone: a copy of another key. Resolver calls (`${oc.env:...}`, `${isatty:}`) are values of their own.
_COPY = re.compile(r"^\$\{[A-Za-z_][\w.]*\}$")


def job_identity(cfg: Any) -> dict[str, Any]:
    """{dotted key: resolved value} for a composed config (DictConfig) or a resolved plain dict.

    A DictConfig tells which keys are copies (interpolations) and they are dropped; a plain dict (an older
    results.json's `config`) has lost that, so every key stays.
    """
    from omegaconf import DictConfig, OmegaConf, open_dict

    if isinstance(cfg, DictConfig):
        # Drop copies and ignored keys before resolving: `paths.output_dir` only resolves inside a Hydra job.
        kept = copy.deepcopy(cfg)
        with open_dict(kept):
            for key in sorted({*_copied_keys(cfg), *NOT_IDENTITY}, key=len, reverse=True):
                parent, _, leaf = key.rpartition(".")
                node = OmegaConf.select(kept, parent) if parent else kept
                if isinstance(node, DictConfig) and leaf in node:
                    del node[leaf]
        values = OmegaConf.to_container(kept, resolve=True)
    else:
        values = dict(cfg)
    flat = _flatten(values)
    return {k: v for k, v in sorted(flat.items()) if not covered(k, NOT_IDENTITY)}


def covered(key: str, prefixes: Iterable[str]) -> bool:
    """Whether `key` is one of `prefixes` or lies under one (`optim.lr` is under `optim`)."""
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def without(identity: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The identity with `keys` and everything under them removed (the factor, the seed)."""
    return {k: v for k, v in identity.items() if not covered(k, keys)}


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """The keys on which two identities differ (a key one lacks counts), in order."""
    return sorted(k for k in {*a, *b} if a.get(k, _MISSING) != b.get(k, _MISSING))


def describe_differences(a: Mapping[str, Any], b: Mapping[str, Any], limit: int = 4) -> str:
    """'optim.lr 0.001 vs 0.01, data.patch_size 16 vs 24': the first `limit` differing keys, as text."""
    keys = differences(a, b)
    shown = [f"{k} {_text(a.get(k, _MISSING))} vs {_text(b.get(k, _MISSING))}" for k in keys[:limit]]
    return ", ".join(shown) + (f" (+{len(keys) - limit} more)" if len(keys) > limit else "")


class _Missing:
    def __repr__(self) -> str:
        return "(unset)"


_MISSING = _Missing()


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, _Missing) else str(value)


def _flatten(values: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(values, Mapping) and (values or not prefix):
        out: dict[str, Any] = {}
        for k, v in values.items():
            out.update(_flatten(v, f"{prefix}{k}" if not prefix else f"{prefix}.{k}"))
        return out
    return {prefix: values}


def _copied_keys(cfg: Any, prefix: str = "") -> Iterable[str]:
    from omegaconf import DictConfig, OmegaConf

    for key in cfg:
        path = f"{prefix}.{key}" if prefix else str(key)
        node = cfg._get_node(key)
        if OmegaConf.is_interpolation(cfg, key):
            if _COPY.match(str(node._value())):
                yield path
            continue
        child = cfg[key] if isinstance(node, DictConfig) else None
        if isinstance(child, DictConfig):
            yield from _copied_keys(child, path)

"""What a job is: its resolved config minus the few keys that cannot change its numbers.

One rule for every reader: two jobs are replicates when their identities differ only in `seed`; they are
compared when they differ only in the factor under test (a config key such as `activation` or `optim.lr`) and
`seed`. Anything else that differs makes them different experiments, and whoever refuses to pool or compare
them names the keys (`differences`).

A key whose value is only an interpolation of another key (`model.net.act: ${activation.name}`,
`data.scale: ${scale}`) is a copy, not a fact: it is dropped, so the factor `activation` is the `activation`
section alone and a copy never makes two jobs look different twice.

A training job adds what is only known once it runs (`run_facts`: the precision the fast path chose, the world
size, the per-device batch) under `run.`; results.json (`identity`) and every checkpoint (`srsweep_identity`)
carry the whole identity. Two further rules read it:
- resuming or skipping a job folder (`experiment_differences`): the configs must agree; `run.` facts are
  where a job ran, not what it is, so a job may resume on another machine;
- scoring a checkpoint (`weights_differences`): only `WEIGHTS`, what decides which network the weights belong
  to (the model and its size, the activation and its parameters and scope, the scale); seed, schedule and
  precision may differ.
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
# Facts resolved when a job runs, not by its config (`run_facts`).
RUN = "run"
# What decides which network a set of weights belongs to: the only keys an evaluation checks.
WEIGHTS: tuple[str, ...] = ("model", "activation", "scale")

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


def run_facts(precision: str, world_size: int, per_device_batch: int) -> dict[str, Any]:
    """The part of a training job's identity its config does not fix (`precision: auto`, `devices: auto`)."""
    return {
        f"{RUN}.precision": str(precision),
        f"{RUN}.world_size": int(world_size),
        f"{RUN}.batch_per_device": int(per_device_batch),
    }


def experiment_differences(earlier: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """The config keys on which a job folder's earlier identity and a new job's differ (empty: resume or skip)."""
    return differences(without(earlier, RUN), without(new, RUN))


def weights_differences(stamp: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    """The `WEIGHTS` keys on which a checkpoint's identity and the config that scores it differ."""
    theirs, ours = only(from_stamp(stamp), *WEIGHTS), only(request, *WEIGHTS)
    if "model" in stamp:  # an older stamp knows fewer keys: compare on those it has, and the activation's params
        ours = {k: v for k, v in ours.items() if k in theirs or covered(k, ["activation.params"])}
    return differences(theirs, ours)


def from_stamp(stamp: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint's identity; a stamp written before identity.py (`{"model": "edsr", "n_feats": 64, ...}`) is
    translated to today's keys (RCAN's `activation.scope`, which it lacked, taken as the default)."""
    if "model" not in stamp:
        return dict(stamp)
    from src.models.activations import split_label

    size = {f"model.net.{k}": v for k, v in stamp.items() if k not in _LEGACY_NOT_SIZE}
    params = {f"activation.params.{k}": v for k, v in (stamp.get("activation_params") or {}).items()}
    return {
        "model.name": stamp["model"],
        "activation.name": split_label(str(stamp.get("activation")))[0],
        "activation.scope": "blocks",
        "scale": stamp.get("scale"),
        SEED: stamp.get(SEED),
        **size,
        **(params or {"activation.params": {}}),
    }


# Keys of the older stamp that are not the network's size.
_LEGACY_NOT_SIZE = {"model", "activation", "activation_params", "scale", "seed", "name", "precision", "max_steps"}


def only(identity: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    """The identity's `keys` and everything under them (the counterpart of `without`)."""
    return {k: v for k, v in identity.items() if covered(k, keys)}


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

"""Find the jobs of one or more sweeps: every `results.json`, and Hydra job dirs that never wrote one."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.results import DIVERGED, FINISHED, RESULTS_FILE

BICUBIC = "bicubic"
UNFINISHED = "unfinished"
UNREADABLE = "unreadable"

# Never hold results; wandb/ and checkpoints can be large, so the walk does not enter them (nor any
# hidden dir: .hydra, .submitit).
_SKIP_DIRS = {"wandb", "checkpoints", "__pycache__"}


class NoResultsError(UserError):
    """No job under the given directories wrote a results.json."""


@dataclass(frozen=True)
class Job:
    path: Path
    status: str
    model: str | None = None
    # The column label: "relu", "lrelu(0.2)", ... and BICUBIC for the bicubic reference.
    activation: str | None = None
    activation_params: dict[str, Any] = field(default_factory=dict)
    scale: int | None = None
    seed: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    # What must agree between jobs that are pooled or compared, apart from the activation and the seed
    # (`job_setting`: model size, steps, batch, world size, patch, precision, init_from); None where unknown.
    setting: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        settings = [f"{k}={v}" for k, v in (("activation", self.activation), ("scale", self.scale)) if v]
        if self.seed is not None:
            settings.append(f"seed={self.seed}")
        text = str(self.path) + (f" ({', '.join(settings)})" if settings else "")
        return text + (f": {self.note}" if self.note else "")


def number(value: Any) -> float:
    """A metric as float; null, strings and other junk become NaN so that callers test one thing."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def collect(dirs: Sequence[Path], exclude: Path | None = None) -> list[Job]:
    """All jobs below `dirs` (not entering `exclude`); NoResultsError when none wrote a results.json."""
    found = [pair for root in dirs for pair in _walk(root, exclude)]
    if all(job.status == UNFINISHED for job, _ in found):
        raise NoResultsError(
            f"no {RESULTS_FILE} found under {', '.join(str(d) for d in dirs)}; "
            "run a sweep first: python -m src.train -m ..."
        )
    return _label_unfinished(found)


def _walk(root: Path, exclude: Path | None) -> Iterator[tuple[Job, dict[str, Any]]]:
    skip = exclude.resolve() if exclude is not None else None
    for here, subdirs, files in os.walk(root):
        path = Path(here)
        if RESULTS_FILE in files:
            yield _read_results(path / RESULTS_FILE)
            subdirs.clear()
            continue
        if (path / ".hydra" / "config.yaml").is_file():
            yield _read_unfinished(path)
        subdirs[:] = sorted(
            d
            for d in subdirs
            if not d.startswith(".") and d not in _SKIP_DIRS and (skip is None or (path / d).resolve() != skip)
        )


def _read_results(file: Path) -> tuple[Job, dict[str, Any]]:
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        return Job(path=file.parent, status=UNREADABLE, note=f"unreadable {RESULTS_FILE} ({err})"), {}
    if not isinstance(data, dict):
        return Job(path=file.parent, status=UNREADABLE, note=f"{RESULTS_FILE} is not a JSON object"), {}
    status = data.get("status", FINISHED)
    note = ""
    if status == DIVERGED and data.get("diverged_at_step") is not None:
        note = f"diverged at step {data['diverged_at_step']}"
    elif status not in (FINISHED, DIVERGED):
        note = f"unknown status {status!r}"
        status = UNREADABLE
    model = data.get("model")
    job = Job(
        path=file.parent,
        status=status,
        model=model,
        activation=BICUBIC if model == BICUBIC else data.get("activation"),
        activation_params=_dict(data.get("activation_params")),
        scale=_int(data.get("scale")),
        seed=_int(data.get("seed")),
        metrics=_dict(data.get("metrics")),
        history=_dict(data.get("history")),
        note=note,
        setting=job_setting(data, _dict(data.get("config"))),
    )
    return job, _dict(data.get("config"))


def _read_unfinished(path: Path) -> tuple[Job, dict[str, Any]]:
    import yaml

    try:
        config = _dict(yaml.safe_load((path / ".hydra" / "config.yaml").read_text()))
    except (OSError, yaml.YAMLError):
        config = {}
    activation = config.get("activation")
    name = activation.get("name") if isinstance(activation, dict) else activation
    job = Job(
        path=path,
        status=UNFINISHED,
        model=_model_name(config.get("model")),
        activation=name if isinstance(name, str) else None,
        scale=_int(config.get("scale")),
        seed=_int(config.get("seed")),
        note=f"no {RESULTS_FILE} (still running, killed or crashed)",
        setting=job_setting({}, config),
    )
    return job, config


def _label_unfinished(found: list[tuple[Job, dict[str, Any]]]) -> list[Job]:
    """Give unfinished jobs the labels their finished siblings carry.

    An unfinished job only has its Hydra config; the `activation` label ("lrelu(0.2)") and model name
    are made by the training code. A finished job with the same config section tells us what they are,
    without this package re-deriving the label rules.
    """
    labels: dict[str, str] = {}
    models: dict[str, str] = {}
    for job, config in found:
        if job.status in (FINISHED, DIVERGED):
            if job.activation and "activation" in config:
                labels.setdefault(_canonical(config["activation"]), job.activation)
            if job.model and "model" in config:
                models.setdefault(_canonical(config["model"]), job.model)
    jobs = []
    for job, config in found:
        if job.status == UNFINISHED:
            job = replace(
                job,
                activation=labels.get(_canonical(config.get("activation")), job.activation),
                model=models.get(_canonical(config.get("model")), job.model),
            )
        jobs.append(job)
    return jobs


def _model_name(section: Any) -> str | None:
    if isinstance(section, str):
        return section
    if isinstance(section, dict) and isinstance(section.get("name"), str):
        return section["name"]
    return None


# Keys of `config.model.net` that are not the model's size: the activation is what a sweep varies, the scale is
# compared on its own, and the class is named by the model name.
_NOT_SIZE = {"act", "act_params", "scale", "_target_"}


def job_setting(data: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Everything but the activation and the seed that makes two jobs the same experiment.

    `precision` and `batch.global` come from results.json where it has them; older files fall back to the
    config (`trainer.precision` or the fast path's `fast.precision`; per-device `data.batch_size` x world size).
    """
    net = _dict(_dict(config.get("model")).get("net"))
    data_section = _dict(config.get("data"))
    trainer = _dict(config.get("trainer"))
    world_size = _int(data.get("world_size"))
    batch = _int(_dict(data.get("batch")).get("global"))
    if batch is None and _int(data_section.get("batch_size")) is not None:
        batch = _int(data_section["batch_size"]) * (world_size or 1)
    precision = data.get("precision") or trainer.get("precision") or _dict(config.get("fast")).get("precision")
    values = {
        "steps": _int(trainer.get("max_steps")),
        "batch": batch,
        "world_size": world_size,
        "patch": _int(data_section.get("patch_size")),
        "precision": None if precision is None else str(precision),
        "init_from": config.get("init_from"),
    }
    return {**{f"model.{k}": v for k, v in sorted(net.items()) if k not in _NOT_SIZE}, **values}


def setting_difference(setting: dict[str, Any], other: dict[str, Any]) -> tuple[str, str]:
    """The keys on which two settings differ, as text for each side: ('world_size 4', 'world_size 1')."""
    keys = [k for k in dict.fromkeys([*setting, *other]) if setting.get(k) != other.get(k)]

    def side(values: dict[str, Any]) -> str:
        return ", ".join(f"{k} {'?' if values.get(k) is None else values[k]}" for k in keys)

    return side(setting), side(other)


def _canonical(section: Any) -> str:
    # Hydra's saved config keeps `${scale}` unresolved while results.json has it resolved; drop the
    # interpolated values so that both spellings of the same section match.
    if isinstance(section, dict):
        section = {k: v for k, v in section.items() if k != "scale" and not (isinstance(v, str) and v.startswith("${"))}
    return json.dumps(section, sort_keys=True, default=str)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

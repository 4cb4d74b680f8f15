"""Find the jobs of one or more sweeps (`walk_jobs`): each job's status, identity and metrics, or why it is left out.

A job is what `src.contracts.identity` says it is: `results["identity"]` where the job wrote one, else the identity
of the config it ran with. Every job that cannot be used (unreadable, malformed metrics, scored under another
checkpoint's identity) keeps its folder and a note, so that the report names it instead of dropping it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.identity import covered, job_identity
from src.contracts.results import DIVERGED, FINISHED
from src.contracts.rundir import RunDir, walk_jobs

BICUBIC = "bicubic"
UNFINISHED = "unfinished"
UNREADABLE = "unreadable"
MALFORMED = "malformed"
MISMATCHED = "other checkpoint"
# A PSNR outside this range (dB) is not a measurement: a NaN, a string, 1e308 or a 400-digit integer in a
# results.json means the file is damaged, and such a value would otherwise print as 300 digits or win "best".
PSNR_RANGE = (0.0, 200.0)
SSIM_RANGE = (-1.0, 1.0)
# An older results.json carries its config resolved, so the copies that conf/model/*.yaml and conf/data/sr.yaml
# interpolate from the seed, the scale and the activation look like facts of their own there; they are dropped
# so that replicates still differ only in `seed` (a new results.json writes its identity without them).
_RESOLVED_COPIES = ("model.net.act", "model.net.act_params", "model.net.act_scope", "model.net.scale")
_RESOLVED_COPIES += ("data.scale", "data.seed")
# What a training job records outside its config that still makes two jobs different experiments.
_RUN_FACTS = ("world_size", "precision")
_PRECISION = "fast.precision"
# The keys both `results.json` and a checkpoint's identity name, that an evaluation must agree with.
_CHECKPOINT_KEYS = ("model", "activation", "scale")


class NoResultsError(UserError):
    """No job under the given directories wrote a results.json."""


@dataclass(frozen=True)
class Job:
    path: Path
    status: str
    model: str | None = None
    # The activation's label ("relu", "lrelu(0.2)"); BICUBIC for the bicubic reference.
    activation: str | None = None
    activation_params: dict[str, Any] = field(default_factory=dict)
    scale: int | None = None
    seed: int | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    # src.contracts.identity: {dotted config key: value}; empty where unknown (an unreadable file).
    identity: dict[str, Any] = field(default_factory=dict)
    # The equivalence margin (dB) the job's config declared for its report (`report.margin`), if any.
    margin: float | None = None

    @property
    def is_bicubic(self) -> bool:
        """Bicubic is a fixed function, scored as a reference beside every setting of its scale."""
        return self.model == BICUBIC

    def describe(self) -> str:
        settings = [f"{k}={v}" for k, v in (("activation", self.activation), ("scale", self.scale)) if v]
        if self.seed is not None:
            settings.append(f"seed={self.seed}")
        text = str(self.path) + (f" ({', '.join(settings)})" if settings else "")
        return text + (f": {self.note}" if self.note else "")


def number(value: Any) -> float:
    """A metric as float; null, strings, 400-digit integers and other junk become NaN."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def value_text(value: Any, limit: int = 24) -> str:
    """A value as short text: a damaged file may hold a 400-digit number, which must never reach a table."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def collect(dirs: Sequence[Path], exclude: Path | None = None) -> list[Job]:
    """All jobs below `dirs` (not entering `exclude`); NoResultsError when none wrote a results.json."""
    found = [_read(run) for root in dirs for run in walk_jobs(root, exclude)]
    if all(job.status == UNFINISHED for job in found):
        raise NoResultsError(
            f"no {RunDir('.').results.name} found under {', '.join(str(d) for d in dirs)}; "
            "run a sweep first: python -m src.train -m ..."
        )
    return found


def _read(run: RunDir) -> Job:
    if not run.results.is_file():
        return _read_unfinished(run)
    try:
        data = json.loads(run.results.read_text())
    except (OSError, ValueError) as err:
        return Job(path=run.path, status=UNREADABLE, note=f"unreadable {run.results.name} ({err})")
    if not isinstance(data, dict):
        return Job(path=run.path, status=UNREADABLE, note=f"{run.results.name} is not a JSON object")
    model = data.get("model")
    job = Job(
        path=run.path,
        status=FINISHED,
        model=model if isinstance(model, str) else None,
        activation=BICUBIC if model == BICUBIC else _str(data.get("activation")),
        activation_params=_dict(data.get("activation_params")),
        scale=_int(data.get("scale")),
        seed=_int(data.get("seed")),
        metrics=_dict(data.get("metrics")),
        history=_dict(data.get("history")),
        identity=identity_of(data, run),
        margin=declared_margin(data.get("config")),
    )
    status, note = _status(data, job)
    return Job(**{**job.__dict__, "status": status, "note": note})


def _status(data: dict[str, Any], job: Job) -> tuple[str, str]:
    """The job's status and, where it is not averaged in, why."""
    status = data.get("status", FINISHED)
    if status == DIVERGED:
        at = data.get("diverged_at_step")
        return DIVERGED, f"diverged at step {at}" if at is not None else ""
    if status != FINISHED:
        return UNREADABLE, f"unknown status {value_text(status)}"
    mismatch = checkpoint_mismatch(data)
    if mismatch:
        return MISMATCHED, mismatch
    problem = metrics_problem(job.metrics)
    return (MALFORMED, problem) if problem else (FINISHED, "")


def checkpoint_mismatch(data: dict[str, Any]) -> str:
    """Why an evaluation scored with `allow_mismatch=true` is not filed under the identity it asked for."""
    source = data.get("checkpoint_identity")
    if not isinstance(source, dict):
        return ""
    differ = [k for k in _CHECKPOINT_KEYS if k in source and source.get(k) != data.get(k)]
    if not differ:
        return ""
    sides = [", ".join(f"{k}={value_text(side.get(k))}" for k in differ) for side in (source, data)]
    return (
        f"scored with allow_mismatch=true: the checkpoint is {sides[0]} but the config asks for {sides[1]}; "
        "left out (evaluate it with the checkpoint's settings to file it under them)"
    )


def metrics_problem(metrics: dict[str, Any]) -> str:
    """Why a finished job's metrics cannot be averaged in ('' when they can): none at all, or a set value that is
    not a number in its metric's range."""
    if not metrics:
        return "no metrics in results.json"
    for dataset, values in metrics.items():
        if not isinstance(values, dict):
            return f"metrics of {dataset} are {value_text(values)}, not a table of numbers"
        for key, value in values.items():
            low, high = PSNR_RANGE if key.startswith("psnr") else SSIM_RANGE if key.startswith("ssim") else (0, 0)
            if key.startswith(("psnr", "ssim")) and not low <= number(value) <= high:
                return f"malformed {key} on {dataset}: {value_text(value)} (not a number in [{low:g}, {high:g}])"
    return ""


def identity_of(data: dict[str, Any], run: RunDir | None = None) -> dict[str, Any]:
    """The job's identity: as written (`results["identity"]`), else from the Hydra config it ran with (which
    keeps the interpolations), else from the resolved config in results.json; plus the run facts."""
    identity = data.get("identity")
    if not isinstance(identity, dict):
        identity = (_hydra_identity(run) if run is not None else None) or _resolved_identity(data.get("config"))
    facts = {k: data[k] for k in _RUN_FACTS if data.get(k) is not None and k not in identity}
    if "precision" in facts and _PRECISION in identity:
        # The precision the job trained in is the fact its config's `fast.precision` (often `auto`) resolved to:
        # one key, so that a sweep over fast.precision differs in its factor only.
        identity = {**identity, _PRECISION: facts.pop("precision")}
    return {**identity, **facts}


def _resolved_identity(config: Any) -> dict[str, Any]:
    identity = job_identity(_dict(config))
    return {k: v for k, v in identity.items() if not covered(k, _RESOLVED_COPIES)}


def _hydra_identity(run: RunDir) -> dict[str, Any] | None:
    """job_identity of the composed config Hydra saved; None where it is missing or does not resolve here."""
    from omegaconf import OmegaConf

    from src.contracts.resolvers import register

    if not run.hydra_config.is_file():
        return None
    register()
    try:
        return job_identity(OmegaConf.load(run.hydra_config))
    except Exception:  # an interpolation that only resolves inside the job (a missing env var, a Hydra resolver)
        return None


def declared_margin(config: Any) -> float | None:
    """`report.margin` of a job's config: the equivalence margin its sweep declared before it ran."""
    value = _dict(_dict(config).get("report")).get("margin")
    margin = number(value) if value is not None else math.nan
    return margin if math.isfinite(margin) and margin > 0 else None


def _read_unfinished(run: RunDir) -> Job:
    import yaml

    try:
        config = _dict(yaml.safe_load(run.hydra_config.read_text()))
    except (OSError, yaml.YAMLError):
        config = {}
    activation = _dict(config.get("activation"))
    model = _dict(config.get("model")).get("name", config.get("model"))
    return Job(
        path=run.path,
        status=UNFINISHED,
        model=model if isinstance(model, str) else None,
        activation=_str(activation.get("name")),
        scale=_int(config.get("scale")),
        seed=_int(config.get("seed")),
        note=f"no {run.results.name} (still running, killed or crashed)",
        identity=_hydra_identity(run) or _resolved_identity(config),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None

"""A launch into a job folder that already holds a job: resume or skip the same experiment, refuse another.

What the folder's earlier job was comes from the first of: its results.json (`identity`), its last
checkpoint's stamp, the config Hydra saved when it started (all an unfinished job may leave). The rule that
compares them is `src.contracts.identity.experiment_differences`: the configs must agree (`run.` facts, where the job
ran, may differ). A folder whose earlier job predates identities (none of the three has one) is taken as
the same experiment, as before.
"""

from __future__ import annotations

from typing import Any

from src.contracts.errors import UserError
from src.contracts.identity import RUN, describe_differences, experiment_differences, job_identity, without
from src.contracts.results import DamagedResults, job_record
from src.contracts.rundir import RunDir


class DifferentExperiment(UserError):
    """The job folder holds another experiment: nothing is resumed, skipped or overwritten."""


def earlier_identity(job: RunDir, hydra_config: str | None) -> tuple[dict[str, Any], str] | None:
    """The identity of the job that used `job` before, and where it was read; `hydra_config` is the text of the
    earlier `.hydra/config.yaml` (None: there was none)."""
    try:
        record = job_record(job)
    except DamagedResults:
        record = None  # set aside and redone by src.train; the other records still tell what the job was
    if record is not None and isinstance(record.get("identity"), dict):
        return record["identity"], job.results.name
    stamp = _checkpoint_stamp(job)
    if stamp is not None:
        return stamp, job.last_checkpoint.name
    if hydra_config:
        from omegaconf import OmegaConf

        try:
            return job_identity(OmegaConf.create(hydra_config)), str(job.hydra_config.relative_to(job.path))
        except Exception:  # a config this version cannot resolve says nothing either way
            return None
    return None


def refuse_another_experiment(job: RunDir, identity: dict[str, Any], hydra_config: str | None, setting: str) -> None:
    """Raise `DifferentExperiment`, one line naming the keys and the fix, if `job` holds another experiment."""
    earlier = earlier_identity(job, hydra_config)
    if earlier is None or not experiment_differences(earlier[0], identity):
        return
    before, source = earlier
    raise DifferentExperiment(
        f"{job.path} holds another experiment ({describe_differences(without(before, RUN), without(identity, RUN))}; "
        f"before vs now, from its {source}); use another {setting} for this one, or force=true to redo the "
        "job here (the earlier results and checkpoints are kept aside)"
    )


def _checkpoint_stamp(job: RunDir) -> dict[str, Any] | None:
    """The identity in the job's last checkpoint, read without loading its tensors (None: none, unreadable,
    or an older stamp that lacks the config)."""
    import torch

    from src.models.weights import IDENTITY_KEY

    if not job.last_checkpoint.is_file():
        return None
    try:
        stamp = torch.load(job.last_checkpoint, map_location="cpu", weights_only=True, mmap=True).get(IDENTITY_KEY)
    except Exception:  # damaged: src.runtime.checkpoints sets it aside before resuming
        return None
    return stamp if isinstance(stamp, dict) and "model" not in stamp else None

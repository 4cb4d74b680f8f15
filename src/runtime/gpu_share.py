"""Several jobs of a sweep on one GPU (`hydra/launcher=gpu_shared`): each job's device and memory share.

A small network (EDSR baseline, the demo's EDSR) leaves most of an H100/H200 idle; k jobs side by side keep it
busy. The joblib launcher runs k x (visible GPUs) jobs at a time, each in its own long-lived worker process.
This Hydra callback runs in each worker before the job's code: it claims one of those k x G slots with a lock
held for the worker's lifetime (so no GPU ever gets more than k jobs, however long each one runs), pins the
worker to slot // k's GPU through CUDA_VISIBLE_DEVICES (the job then sees it as cuda:0, and its config, and so
its identity, do not change), and caps its CUDA caching allocator at its share of that GPU's memory with
`torch.cuda.set_per_process_memory_fraction`, so one job cannot starve the others into out-of-memory errors.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from src.contracts.errors import UserError

log = logging.getLogger(__name__)

VISIBLE = "CUDA_VISIBLE_DEVICES"
# What "auto" leaves outside the k allocator caps: each process's CUDA context and cuDNN/cuBLAS workspaces
# live outside the caching allocator (a few hundred MB per process), so k caps of exactly 1/k would overcommit.
RESERVE = 0.05
_claimed: dict[str, Any] = {}  # this process's slot, its GPU and the open lock file (held until exit)


def memory_share(jobs_per_gpu: int, memory_fraction: float | str | None) -> float | None:
    """The allocator cap of one job: `auto` = (1 - RESERVE) / k, a number as given, null = no cap."""
    if memory_fraction is None:
        return None
    if memory_fraction == "auto":
        return (1.0 - RESERVE) / jobs_per_gpu
    share = float(memory_fraction)
    if not 0.0 < share <= 1.0:
        raise UserError(f"gpu_shared: memory_fraction={memory_fraction} is not in (0, 1]; pass auto, null or e.g. 0.3")
    return share


def claim_slot(lock_dir: Path, slots: int) -> tuple[int, int]:
    """Lock the first free one of `slots` slot files; return (slot, fd). The kernel frees it when we exit."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    for slot in range(slots):
        fd = os.open(lock_dir / f"slot{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return slot, fd
    raise UserError(
        f"gpu_shared: all {slots} GPU slots under {lock_dir} are taken; hydra.launcher.n_jobs must not exceed "
        "jobs_per_gpu x the visible GPUs"
    )


class ShareGpu(Callback):
    """`hydra.callbacks.gpu_share` of conf/hydra/launcher/gpu_shared.yaml: k = `jobs_per_gpu` jobs per GPU."""

    def __init__(self, jobs_per_gpu: int = 2, memory_fraction: float | str | None = "auto") -> None:
        if int(jobs_per_gpu) < 1:
            raise UserError(f"gpu_shared: jobs_per_gpu={jobs_per_gpu} must be at least 1")
        self.jobs_per_gpu = int(jobs_per_gpu)
        self.share = memory_share(self.jobs_per_gpu, memory_fraction)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # The launcher's process counts the GPUs once and writes the list down: the workers must choose their
        # GPU before CUDA starts in them, and CUDA reads CUDA_VISIBLE_DEVICES only when it starts.
        import torch

        if VISIBLE not in os.environ and torch.cuda.is_available():
            os.environ[VISIBLE] = ",".join(str(i) for i in range(torch.cuda.device_count()))

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if OmegaConf.select(config, "hydra.mode") == RunMode.RUN:
            return  # a single run has no neighbours to share with
        gpus = [g for g in os.environ.get(VISIBLE, "").split(",") if g.strip()]
        if not gpus:
            log.info("gpu_shared: no CUDA device; jobs run side by side on the CPU without a memory share")
            return
        if not _claimed:
            import torch

            if torch.cuda.is_initialized() and len(gpus) > 1:
                raise UserError(
                    "gpu_shared: CUDA started in this worker before its GPU could be chosen, so every job would land "
                    "on the first GPU; pin the sweep to one GPU with CUDA_VISIBLE_DEVICES=N"
                )
            slots = self.jobs_per_gpu * len(gpus)
            slot, fd = claim_slot(Path(config.hydra.sweep.dir) / ".gpu_slots", slots)
            gpu = gpus[slot // self.jobs_per_gpu]
            os.environ[VISIBLE] = gpu  # before this process starts CUDA: the job sees only its GPU, as cuda:0
            _claimed.update(slot=slot, gpu=gpu, fd=fd)
            self._cap_memory()
        log.info(
            "gpu_shared: slot %d of %d jobs per GPU on GPU %s, allocator cap %s",
            _claimed["slot"],
            self.jobs_per_gpu,
            _claimed["gpu"],
            "none" if self.share is None else f"{self.share:.3f} of its memory",
        )

    def _cap_memory(self) -> None:
        import torch

        if self.share is not None and torch.cuda.is_available():
            torch.cuda.set_per_process_memory_fraction(self.share, 0)

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        # The next job in this worker starts with an empty cache instead of this job's leftovers.
        import torch

        if _claimed and torch.cuda.is_available():
            torch.cuda.empty_cache()

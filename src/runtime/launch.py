"""Multi-process jobs that work inside `-m` sweeps.

Lightning's DDP launcher re-runs `sys.argv` for ranks 1..N-1; under `-m` every such child would run the whole
sweep again. Instead, the job's own process becomes rank 0 and starts ranks 1..N-1 itself, each running just
this job from its resolved config (`src.runtime.rank_worker`). Lightning then sees an externally launched world
(LOCAL_RANK and friends in the environment) and starts nothing. Under SLURM, srun starts the ranks (one task
per device) and Lightning's SLURM environment supplies them, so nothing is spawned here.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf

from src.contracts.errors import UserError

log = logging.getLogger(__name__)
T = TypeVar("T")

_RANK_VARS = ("MASTER_ADDR", "MASTER_PORT", "WORLD_SIZE", "NODE_RANK", "LOCAL_RANK", "RANK")


def device_count(devices: Any) -> int:
    """Processes a Trainer `devices` value asks for on this node (-1/'auto' count as 1: Lightning decides)."""
    if isinstance(devices, int):
        return max(devices, 1)
    if isinstance(devices, str):
        if devices.strip().lstrip("-").isdigit():
            return max(int(devices), 1)
        if "," in devices:
            return len([d for d in devices.split(",") if d.strip()])
        return 1
    return len(list(devices))


def externally_launched() -> bool:
    """True inside a rank another launcher started (ours, torchrun, or SLURM with several tasks)."""
    if "LOCAL_RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ:
        return True
    return int(os.environ.get("SLURM_NTASKS", "1")) > 1


def is_rank_zero_process() -> bool:
    """Global rank 0 (or no distributed world at all), judged from the launcher's environment."""
    return os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")) == "0"


def needs_spawn(cfg: DictConfig) -> bool:
    strategy = str(cfg.trainer.get("strategy", "auto"))
    return (
        device_count(cfg.trainer.devices) > 1
        and int(cfg.trainer.get("num_nodes", 1)) == 1
        and "spawn" not in strategy
        and strategy not in ("dp", "single_device")
        and not externally_launched()
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _rank_env(env: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _RANK_VARS}
    os.environ.update(env)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run_ranks(cfg: DictConfig, job: Callable[[DictConfig], T]) -> T:
    """Run `job(cfg)` as rank 0 of a fresh N-process world, ranks 1..N-1 in child processes."""
    n = device_count(cfg.trainer.devices)
    out = Path(cfg.paths.output_dir)
    ddp_dir = out / "ddp"
    ddp_dir.mkdir(parents=True, exist_ok=True)
    config_file = ddp_dir / "config.yaml"
    config_file.write_text(OmegaConf.to_yaml(cfg, resolve=True))
    base = {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "WORLD_SIZE": str(n),
        "NODE_RANK": "0",
    }
    children = []
    for rank in range(1, n):
        env = {**os.environ, **base, "LOCAL_RANK": str(rank), "RANK": str(rank)}
        with open(ddp_dir / f"rank{rank}.log", "w") as logfile:
            children.append(
                subprocess.Popen(
                    [sys.executable, "-m", "src.runtime.rank_worker", str(config_file)],
                    env=env,
                    stdout=logfile,
                    stderr=subprocess.STDOUT,
                    cwd=os.getcwd(),
                )
            )
    log.info("started ranks 1..%d of %d for this job (logs in %s)", n - 1, n, ddp_dir)
    try:
        with _rank_env({**base, "LOCAL_RANK": "0", "RANK": "0"}):
            result = job(cfg)
    except BaseException:
        for child in children:
            child.kill()
        raise
    finally:
        _destroy_process_group()
    codes = [(rank, child.wait()) for rank, child in enumerate(children, start=1)]
    failed = [(rank, code) for rank, code in codes if code != 0]
    if failed:
        rank, code = failed[0]
        raise UserError(f"rank {rank} of this job exited with code {code}; see {ddp_dir / f'rank{rank}.log'}")
    return result


def _destroy_process_group() -> None:
    """Leave no process group behind, so the next job of a sweep can start its own world in this process."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

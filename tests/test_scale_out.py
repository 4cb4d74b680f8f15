"""Multi-process jobs inside `-m` sweeps (DDP on 2 CPU processes), submitit launchers, the SLURM preset."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import PROJECT_ROOT, run_cli

pytestmark = pytest.mark.slow


def _tree_state() -> set[str]:
    """Everything in the working tree, untracked and ignored files included, except caches and the venv."""
    out = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    skip = ("__pycache__", ".venv", ".pytest_cache", ".ruff_cache", ".egg-info")
    return {line for line in out.splitlines() if not any(s in line for s in skip)}


def _check_ddp_jobs(out: Path) -> None:
    jobs = sorted(p for p in out.iterdir() if p.is_dir() and p.name.isdigit())
    assert [p.name for p in jobs] == ["0", "1"]
    for job in jobs:
        res = json.loads((job / "results.json").read_text())
        assert res["world_size"] == 2 and res["status"] == "finished"
        assert len(res["metrics"]["Set5"]["images"]) == 5
        assert len(list((job / "wandb").glob("offline-run-*"))) == 1


def _ddp_sweep(data_root: Path, out: Path, *extra: str):
    """The issue's sweep: 2 jobs, each a DDP job of 2 CPU processes (gloo)."""
    return run_cli(
        "src.train",
        "-m",
        *extra,
        "activation=relu,mish",
        "scale=2",
        "experiment=smoke",
        f"paths.data_dir={data_root}",
        "data.test_sets=[Set5]",
        f"hydra.sweep.dir={out}",
        "trainer.accelerator=cpu",
        "trainer.devices=2",
    )


@pytest.mark.skipif(not (PROJECT_ROOT / ".git").exists(), reason="needs a git checkout to see the working tree")
def test_ddp_jobs_inside_a_sweep_run_their_ranks_once(data_root: Path, tmp_path: Path) -> None:
    before = _tree_state()
    out = tmp_path / "sweep"
    proc = _ddp_sweep(data_root, out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("started ranks 1..1 of 2") + proc.stderr.count("started ranks 1..1 of 2") >= 2
    _check_ddp_jobs(out)
    assert sorted(p.name for p in out.iterdir()) == ["0", "1", "multirun.yaml"]
    assert _tree_state() == before


def test_the_same_sweep_runs_under_the_submitit_local_launcher(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = _ddp_sweep(data_root, out, "hydra/launcher=submitit_local")
    assert proc.returncode == 0, proc.stderr[-3000:]
    _check_ddp_jobs(out)


def test_the_slurm_preset_follows_the_trainer() -> None:
    proc = run_cli("src.train", "hydra/launcher=slurm", "trainer.devices=4", "--cfg", "all", "--resolve")
    assert proc.returncode == 0, proc.stderr[-2000:]
    launcher = proc.stdout[proc.stdout.index("  launcher:") : proc.stdout.index("  sweeper:")]
    assert "SlurmLauncher" in launcher
    assert "tasks_per_node: 4" in launcher and "gpus_per_node: 4" in launcher and "requeue: true" in launcher

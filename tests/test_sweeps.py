"""The ready-made sweep definitions in sweeps/ compose and launch through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT, run_cli


@pytest.mark.parametrize(("name", "jobs"), [("paper", 24), ("extended", 30)])
def test_sweep_files_define_the_documented_grids(name: str, jobs: int) -> None:
    params = yaml.safe_load((PROJECT_ROOT / "sweeps" / f"{name}.yaml").read_text())["hydra"]["sweeper"]["params"]
    count = 1
    for values in params.values():
        count *= len(str(values).split(","))
    assert count == jobs
    proc = run_cli("src.train", "--config-dir", "sweeps", "--config-name", name, "--cfg", "job", "--resolve")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["model"]["name"] == "edsr" and cfg["trainer"]["max_steps"] == 300_000


def test_wandb_sweep_drives_the_same_cli() -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "sweeps" / "wandb.yaml").read_text())
    assert spec["command"][:4] == ["${env}", "python", "-m", "src.train"] and "${args_no_hyphens}" in spec["command"]
    assert set(spec["parameters"]["activation"]["values"]) == {"relu", "lrelu", "swish", "mish"}


@pytest.mark.slow
def test_the_paper_sweep_starts_each_x4_job_from_its_x2_job(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        "--config-dir",
        "sweeps",
        "--config-name",
        "paper",
        "experiment=smoke",
        "activation=mish",
        "seed=0",
        f"paths.data_dir={data_root}",
        "data.test_sets=[Set5]",
        f"hydra.sweep.dir={out}",
        "logger=none",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = {json.loads(p.read_text())["scale"]: p.parent for p in out.glob("*/results.json")}
    assert sorted(results) == [2, 4]
    log = (results[4] / "train.log").read_text()
    assert f"initialised from {results[2] / 'checkpoints' / 'last.ckpt'}" in log

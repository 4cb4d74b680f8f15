"""Any config key as the factor, end to end: a smoke sweep over the learning rate and the activation through the
real CLI, then the report with the default factor (which must not pool the two learning rates) and with
`--factor optim.lr`; and the ready-made learning-rate sweep."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.helpers import PROJECT_ROOT, run_cli, run_tiny_sweep


@pytest.mark.slow
def test_a_sweep_over_the_learning_rate_and_the_activation(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_tiny_sweep(out, data_root, "activation=relu,mish", "optim.lr=1e-3,1e-2", "seed=0,1", "scale=2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(out.glob("*/results.json"))) == 8

    report = run_cli("src.report", str(out))
    assert report.returncode == 0, report.stderr[-3000:]
    assert "ignored duplicate" not in report.stdout
    assert "## Model `edsr_baseline`: optim.lr=0.001" in report.stdout
    assert "## Model `edsr_baseline`: optim.lr=0.01" in report.stdout
    rows = list(csv.DictReader((out / "report" / "table1.csv").open()))
    mish = [r for r in rows if r["activation"] == "mish"]
    assert sorted(r["setting"] for r in mish) == ["optim.lr=0.001", "optim.lr=0.01"]
    assert all(r["n_pairs"] == "2" and r["verdict"] for r in mish)

    by_lr = run_cli(
        "src.report", str(out), "--factor", "optim.lr", "--reference", "1e-3", "--out", str(tmp_path / "lr")
    )
    assert by_lr.returncode == 0, by_lr.stderr[-3000:]
    assert "| Scale | Set | optim.lr=0.001 | optim.lr=0.01 |" in by_lr.stdout
    rows = list(csv.DictReader((tmp_path / "lr" / "table1.csv").open()))
    compared = [r for r in rows if r["optim.lr"] == "optim.lr=0.01"]
    assert sorted(r["setting"] for r in compared) == ["activation.name=mish", "activation.name=relu"]
    assert all(r["n_pairs"] == "2" and r["verdict"] in ("better", "worse", "equivalent", "undecided") for r in compared)
    # The identity each job wrote (or its config's) says what it is: the margin of the report is not part of it.
    results = json.loads(next(out.glob("*/results.json")).read_text())
    assert "report.margin" not in results.get("identity", {})


def test_the_learning_rate_sweep_is_ready_made() -> None:
    params = yaml.safe_load((PROJECT_ROOT / "sweeps" / "learning_rate.yaml").read_text())["hydra"]["sweeper"]["params"]
    assert str(params["optim.lr"]).split(",") == ["5.0e-5", "1.0e-4", "2.0e-4"] and params["activation"] == "relu"
    proc = run_cli("src.train", "--config-dir", "sweeps", "--config-name", "learning_rate", "--cfg", "job", "--resolve")
    assert proc.returncode == 0, proc.stderr[-2000:]
    cfg = yaml.safe_load(proc.stdout)
    assert cfg["optim"]["lr"] == 1e-4 and cfg["report"]["margin"] == 0.05 and cfg["model"]["name"] == "edsr"

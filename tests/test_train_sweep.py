"""The product's main job through the real CLI: `python -m src.train -m activation=... scale=...`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tests.helpers import make_data_root, run_cli
from tests.wandb_records import read_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(benchmark_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("sweep")
    root = make_data_root(tmp / "data", benchmark_dir)
    out = tmp / "out"
    proc = run_cli(
        "src.train",
        "-m",
        "activation=relu,lrelu,swish,mish",
        "scale=2,4",
        "experiment=smoke",
        f"paths.data_dir={root}",
        "data.test_sets=[Set5]",
        f"hydra.sweep.dir={out}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_the_grid_leaves_eight_complete_jobs(sweep: Path) -> None:
    jobs = sorted(p.parent for p in sweep.glob("*/results.json"))
    assert len(jobs) == 8
    seen = set()
    for job in jobs:
        res = json.loads((job / "results.json").read_text())
        seen.add((res["activation"], res["scale"]))
        assert res["status"] == "finished" and res["world_size"] == 1 and res["seed"] == 0
        assert res["params"] > 0 and res["train"]["steps"] == 8 and res["train"]["seconds"] > 0
        set5 = res["metrics"]["Set5"]
        assert sorted(set5["images"]) == ["baby", "bird", "butterfly", "head", "woman"]
        for values in [set5, *set5["images"].values()]:
            for key in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"):
                assert math.isfinite(values[key]), (job, key)
        assert res["config"]["activation"]["name"] == res["activation"]
        assert res["history"]["train/loss"] and res["history"]["val/Set5/psnr_y"]
    assert seen == {(a, s) for a in ("relu", "lrelu", "swish", "mish") for s in (2, 4)}


def test_the_jobs_differ_only_in_the_swept_keys(sweep: Path) -> None:
    from src.contracts.identity import covered, differences

    identities = [json.loads(p.read_text())["identity"] for p in sorted(sweep.glob("*/results.json"))]
    assert len({json.dumps(i, sort_keys=True) for i in identities}) == 8
    for identity in identities[1:]:
        assert all(covered(k, ["activation", "scale"]) for k in differences(identities[0], identity))


def test_each_job_has_exactly_one_offline_wandb_run_with_its_config_and_psnr(sweep: Path) -> None:
    for job in sorted(p.parent for p in sweep.glob("*/results.json")):
        res = json.loads((job / "results.json").read_text())
        runs = list((job / "wandb").glob("offline-run-*"))
        assert len(runs) == 1, job
        run = read_run(runs[0])
        assert run["config"]["activation"]["name"] == res["activation"]
        assert run["config"]["scale"] == res["scale"]
        assert run["summary"]["test/Set5/psnr_y"] == pytest.approx(res["metrics"]["Set5"]["psnr_y"])
        assert run["group"] == sweep.name and res["activation"] in run["tags"]
        assert {"val/Set5/psnr_y", "val/crops/filenames", "train/loss"} <= run["history_keys"]
        assert run["summary"]["params"] == res["params"] and run["summary"]["train/samples_per_second"] > 0
        assert run["summary"]["test/per_image/nrows"] == 5

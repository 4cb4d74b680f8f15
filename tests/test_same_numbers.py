"""One job, the same numbers however it is run: precision, devices, the x4 start (issue: one study, one schedule)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from src.contracts.errors import UserError
from tests.helpers import PROJECT_ROOT, run_cli
from tests.wandb_records import read_run

pytestmark = pytest.mark.slow

SMOKE = ("experiment=smoke", "data.test_sets=[Set5]", "logger=none")


def test_a_bf16_trained_checkpoint_scores_the_same_in_its_test_stage_and_in_evaluate(
    data_root: Path, tmp_path: Path
) -> None:
    # bf16-mixed on the CPU runs the same autocast code path as on CUDA; evaluation must leave it.
    train = run_cli(
        "src.train",
        *SMOKE[:2],
        "fast.precision=bf16-mixed",
        f"paths.data_dir={data_root}",
        f"hydra.run.dir={tmp_path / 't'}",
    )
    assert train.returncode == 0, train.stderr[-2000:]
    trained = json.loads((tmp_path / "t" / "results.json").read_text())
    assert trained["precision"] == "bf16-mixed"
    assert trained["batch"] == {"global": 4, "per_device": 4} and trained["world_size"] == 1
    (run,) = (tmp_path / "t" / "wandb").glob("offline-run-*")
    config = read_run(run)["config"]
    assert config["precision"] == "bf16-mixed" and config["batch"] == {"global": 4, "per_device": 4}
    ckpt = tmp_path / "t" / "checkpoints" / "last.ckpt"
    evaluate = run_cli(
        "src.evaluate", *SMOKE[:2], f"ckpt={ckpt}", f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path / 'e'}"
    )
    assert evaluate.returncode == 0, evaluate.stderr[-2000:]
    evaluated = json.loads((tmp_path / "e" / "results.json").read_text())
    assert evaluated["metrics"]["Set5"]["images"] == trained["metrics"]["Set5"]["images"]


def test_the_batch_is_global_and_split_over_two_ranks(data_root: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "src.train",
        *SMOKE,
        "trainer.devices=2",
        "data.batch_size=16",
        "trainer.max_steps=2",
        f"paths.data_dir={data_root}",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["batch"] == {"global": 16, "per_device": 8} and res["world_size"] == 2
    assert res["precision"] == "32-true"


def test_the_precision_sweep_is_the_relu_x2_job_in_fp32_and_bf16_over_seeds() -> None:
    proc = run_cli("src.train", "--config-dir", "sweeps", "--config-name", "precision", "--cfg", "hydra")
    assert proc.returncode == 0, proc.stderr[-2000:]
    params = yaml.safe_load((PROJECT_ROOT / "sweeps" / "precision.yaml").read_text())["hydra"]["sweeper"]["params"]
    assert params == {"fast.precision": "32-true,bf16-mixed", "activation": "relu", "seed": "0,1,2"}


class _Trainer:
    def __init__(self, rank: int, world_size: int):
        self.global_rank, self.world_size, self.global_step = rank, world_size, 3


def _step_batches(data_root: Path, world: int) -> list[list[int]]:
    """The sample indices each rank draws in its first step, for data.batch_size=16 over `world` ranks."""
    from src.data.datamodule import SRDataModule

    batches = []
    for rank in range(world):
        dm = SRDataModule(str(data_root), 2, batch_size=16, num_workers=0, steps_per_epoch=2)
        dm.train_data = list(range(10_000))  # any indexable: the sampler's indices are what is checked
        dm.trainer = _Trainer(rank, world)
        loader = dm.train_dataloader()
        batches.append(next(iter(loader.batch_sampler)))
    return batches


def test_devices_split_the_same_samples_per_step(data_root: Path) -> None:
    one, two = _step_batches(data_root, 1), _step_batches(data_root, 2)
    assert [len(b) for b in one] == [16] and [len(b) for b in two] == [8, 8]
    assert sorted(two[0] + two[1]) == sorted(one[0])  # the same 16 samples of step 3, split over the ranks


def test_a_batch_that_does_not_split_over_the_devices_is_refused() -> None:
    from src.data.datamodule import per_device_batch

    with pytest.raises(UserError, match=r"data.batch_size=10 does not split over 4 devices"):
        per_device_batch(10, 4)


TINY_PAPER = (
    "experiment=paper",
    "model.net.n_resblocks=2",
    "model.net.n_feats=8",
    "data.patch_size=16",
    "data.batch_size=4",
    "data.steps_per_epoch=2",
    "data.num_workers=0",
    "data.val_images=1",
    "data.val_sets=[Set5]",
    "data.test_sets=[Set5]",
    "trainer.max_steps=2",
    "trainer.accelerator=cpu",
    "tile=null",
    "logger=none",
)


def test_experiment_paper_starts_x4_from_the_x2_job_and_says_how_to_get_it(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        "activation=relu",
        "scale=2,4",
        *TINY_PAPER,
        f"paths.data_dir={data_root}",
        f"hydra.sweep.dir={out}",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = {json.loads(p.read_text())["scale"]: p.parent for p in out.glob("*/results.json")}
    assert sorted(jobs) == [2, 4]
    assert f"starting from the weights of {jobs[2] / 'checkpoints' / 'last.ckpt'}" in proc.stdout
    alone = run_cli(
        "src.train", "scale=4", *TINY_PAPER, f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path / 'x4' / 'run'}"
    )
    assert alone.returncode == 2 and "Traceback" not in alone.stderr
    assert "run the scale=2 jobs first" in alone.stderr and "init_from=null" in alone.stderr


def test_a_non_finite_loss_stops_the_job_within_log_every_n_steps(data_root: Path, tmp_path: Path) -> None:
    # The loss is read on the host only every 4 steps; the step recorded is still where it happened.
    proc = run_cli(
        "src.train",
        *SMOKE,
        "optim.lr=1e12",
        "trainer.log_every_n_steps=4",
        "trainer.max_steps=40",
        "data.steps_per_epoch=40",
        f"paths.data_dir={data_root}",
        f"hydra.run.dir={tmp_path}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["status"] == "diverged" and res["metrics"] == {}
    at, steps = res["diverged_at_step"], res["train"]["steps"]
    stopped_at = steps - 1  # the step whose check saw it
    assert isinstance(at, int) and at < stopped_at <= at + 4 and stopped_at % 4 == 0


def test_the_skip_guard_still_drops_outlier_batches(data_root: Path, tmp_path: Path) -> None:
    # A threshold of 1 makes every batch whose loss is above the running loss an outlier: about half of them.
    proc = run_cli(
        "src.train", *SMOKE, "optim.skip_threshold=1.0", f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path}"
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "results.json").read_text())
    assert res["status"] == "finished" and res["train"]["skipped_batches"] > 0

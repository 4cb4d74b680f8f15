"""One identity: what results.json and checkpoints record, the rule scoring checks, the rule resume and skip check."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from src.contracts.errors import UserError
from src.contracts.identity import experiment_differences, job_identity, run_facts, weights_differences
from src.contracts.rundir import RunDir
from src.models.build import build_model
from src.models.weights import IDENTITY_KEY
from tests.helpers import compose_config

SMALL = ("model.net.n_resblocks=2", "model.net.n_feats=8")


def _eval_identity(*overrides: str) -> dict:
    return job_identity(compose_config("evaluate", *SMALL, *overrides, "paths.output_dir=/x"))


def _train_identity(*overrides: str) -> dict:
    return job_identity(compose_config("train", *SMALL, *overrides, "paths.output_dir=/x"))


def test_scoring_compares_the_network_only() -> None:
    stamp = _train_identity("seed=3", "trainer.max_steps=5", "optim.lr=1") | run_facts("bf16-mixed", 4, 4)
    assert weights_differences(stamp, _eval_identity()) == []
    assert weights_differences(stamp, _eval_identity("activation=mish")) == ["activation.name"]
    assert weights_differences(stamp, _eval_identity("scale=4")) == ["scale"]
    assert weights_differences(stamp, _eval_identity("model.net.n_feats=16")) == ["model.net.n_feats"]
    slope = _eval_identity("activation=lrelu", "activation.params.negative_slope=0.2")
    assert weights_differences(_train_identity("activation=lrelu"), slope) == ["activation.params.negative_slope"]


def test_rcans_activation_scope_is_part_of_the_network() -> None:
    """The earlier checkpoint stamp dropped RCAN's act_scope from the size; the identity keeps it."""
    blocks = _train_identity("model=rcan_small")
    assert weights_differences(blocks, _eval_identity("model=rcan_small", "activation.scope=all")) == [
        "activation.scope"
    ]


def test_an_older_stamp_is_compared_on_the_keys_it_has() -> None:
    legacy = {"model": "edsr_baseline", "activation": "relu", "activation_params": {}, "scale": 2, "seed": 0}
    legacy |= {"name": "edsr_baseline-relu-x2-s0", "n_resblocks": 2, "n_feats": 8, "res_scale": 1.0}
    legacy |= {"precision": "32-true", "max_steps": 8}
    assert weights_differences(legacy, _eval_identity()) == []
    assert weights_differences(legacy, _eval_identity("activation=mish")) == ["activation.name"]
    assert weights_differences(legacy, _eval_identity("model.net.n_feats=16")) == ["model.net.n_feats"]


def test_resume_and_skip_compare_the_config_not_where_it_ran() -> None:
    earlier = _train_identity() | run_facts("32-true", 1, 4)
    assert experiment_differences(earlier, _train_identity() | run_facts("bf16-mixed", 2, 2)) == []
    assert experiment_differences(earlier, _train_identity("activation=mish", "seed=5")) == ["activation.name", "seed"]
    assert experiment_differences(earlier, _train_identity("optim.lr=0.01")) == ["optim.lr"]
    # Paths, loggers, workers and force cannot change a job's numbers.
    assert experiment_differences(earlier, _train_identity("data.num_workers=9", "logger=none", "force=true")) == []


def test_a_checkpoint_scored_under_another_size_is_refused_before_loading(tmp_path: Path) -> None:
    from src.models.edsr import EDSR

    ckpt = tmp_path / "small.ckpt"
    state = {f"net.{k}": v for k, v in EDSR(2, n_resblocks=2, n_feats=8).state_dict().items()}
    torch.save({"state_dict": state, IDENTITY_KEY: _train_identity()}, ckpt)
    cfg = compose_config("evaluate", "model.net.n_resblocks=2", "model.net.n_feats=16", f"ckpt={ckpt}")
    with pytest.raises(UserError, match=r"another network .*\(model\.net\.n_feats 8 vs 16; checkpoint vs this run\)"):
        build_model(cfg, job_identity(cfg))
    same = compose_config("evaluate", *SMALL, f"ckpt={ckpt}")
    assert build_model(same, job_identity(same))[1] == _train_identity()


@pytest.mark.slow
def test_a_trained_job_records_one_identity_and_its_checkpoint_scores_under_it(data_root: Path, tmp_path: Path) -> None:
    from src.evaluate import evaluate
    from src.train import train

    job = RunDir(tmp_path / "job")
    args = ("experiment=smoke", "data.test_sets=[Set5]", f"paths.data_dir={data_root}")
    results = train(
        compose_config("train", *args, "logger=none", "trainer.max_steps=2", f"paths.output_dir={job.path}")
    )
    stamp = torch.load(job.last_checkpoint, weights_only=True)[IDENTITY_KEY]
    assert stamp == results["identity"] == json.loads(job.results.read_text())["identity"]
    assert stamp["run.precision"] == "32-true" and stamp["run.world_size"] == 1 and stamp["run.batch_per_device"] == 4
    assert stamp["model.net.n_feats"] == 8 and stamp["activation.name"] == "relu" and stamp["seed"] == 0
    scored = evaluate(
        compose_config("evaluate", *args, f"ckpt={job.last_checkpoint}", "device=cpu", f"paths.output_dir={tmp_path}")
    )
    assert scored["checkpoint_identity"] == stamp and scored["identity"]["activation.name"] == "relu"

"""A job's checkpoints: resume from the newest readable one, identity checks on scoring, init_from, locks."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from src.contracts.errors import UserError
from src.contracts.identity import job_identity
from src.models.edsr import EDSR
from src.models.weights import IDENTITY_KEY, UnsafeCheckpointError, load_fitting
from src.runtime.checkpoints import prepare_resume
from tests.helpers import PROJECT_ROOT, CodeRunningPickle, compose_config

SMALL = ("model.net.n_resblocks=2", "model.net.n_feats=8")


def _save(path: Path, step: int, mtime: int) -> None:
    torch.save({"global_step": step, "state_dict": {}}, path)
    os.utime(path, ns=(mtime, mtime))


def test_a_damaged_last_checkpoint_is_set_aside_and_the_newest_readable_one_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for step in (4, 8, 12):
        _save(tmp_path / f"step{step}.ckpt", step, step * 10**9)
    (tmp_path / "last.ckpt").symlink_to("step12.ckpt")
    for step in (8, 12):  # cut short, as by a full disk
        path = tmp_path / f"step{step}.ckpt"
        path.write_bytes(path.read_bytes()[:100])
    assert prepare_resume(tmp_path) == tmp_path / "last.ckpt"
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["global_step"] == 4
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:2]] == [str(tmp_path / "last.ckpt"), str(tmp_path / "step8.ckpt")]
    assert all("unreadable checkpoint" in line for line in lines[:2]) and "step4.ckpt" in lines[2]
    assert len(list(tmp_path.glob("step12.ckpt.damaged-*"))) == len(list(tmp_path.glob("step8.ckpt.damaged-*"))) == 1


def test_nothing_readable_starts_over_and_a_dangling_link_goes(tmp_path: Path) -> None:
    (tmp_path / "last.ckpt").symlink_to("step4.ckpt")
    assert prepare_resume(tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_a_code_running_pickle_planted_as_last_ckpt_is_refused_by_train(tmp_path: Path) -> None:
    from src.train import train

    marker = tmp_path / "pwned"
    (tmp_path / "checkpoints").mkdir()
    torch.save({"state_dict": CodeRunningPickle(marker)}, tmp_path / "checkpoints" / "last.ckpt")
    with pytest.raises(UnsafeCheckpointError, match="refused to load") as info:
        train(compose_config("train", "experiment=smoke", f"paths.output_dir={tmp_path}"))
    assert "\n" not in str(info.value) and not marker.exists()


def _ours(path: Path, cfg) -> Path:
    """A checkpoint as training writes it: the network under `net.` and the job's identity."""
    state = {f"net.{k}": v for k, v in EDSR(2, n_resblocks=2, n_feats=8).state_dict().items()}
    torch.save({"state_dict": state, IDENTITY_KEY: job_identity(cfg)}, path)
    return path


@pytest.mark.parametrize("entry", ["evaluate", "upscale"])
def test_a_checkpoint_asked_for_under_another_activation_is_refused_naming_both(entry: str, tmp_path: Path) -> None:
    ckpt = _ours(tmp_path / "relu.ckpt", compose_config("train", *SMALL, "activation=relu"))
    cfg = compose_config(
        entry,
        *SMALL,
        "activation=mish",
        f"ckpt={ckpt}",
        f"paths.output_dir={tmp_path}",
        "device=cpu",
        *(["input=" + str(ckpt), f"output={tmp_path}"] if entry == "upscale" else []),
    )
    run = getattr(__import__(f"src.{entry}", fromlist=[entry]), entry)
    both = r"holds another network than this run asks for \(activation.name relu vs mish; checkpoint vs this run\)"
    with pytest.raises(UserError, match=both):
        run(cfg)
    assert not (tmp_path / "results.json").exists()


def test_allow_mismatch_scores_anyway_and_records_both_identities(benchmark_dir: Path, tmp_path: Path) -> None:
    from src.evaluate import evaluate

    ckpt = _ours(tmp_path / "relu.ckpt", compose_config("train", *SMALL, "activation=relu"))
    cfg = compose_config(
        "evaluate",
        *SMALL,
        "activation=mish",
        f"ckpt={ckpt}",
        "allow_mismatch=true",
        "device=cpu",
        f"paths.data_dir={benchmark_dir.parent}",
        "data.test_sets=[Set5]",
        f"paths.output_dir={tmp_path / 'eval'}",
    )
    results = evaluate(cfg)
    assert results["activation"] == "mish" and results["checkpoint_identity"]["activation.name"] == "relu"
    assert results["identity"]["activation.name"] == "mish"


def test_init_from_warns_with_the_count_and_records_its_source(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from src.runtime.job import _initialise

    x2 = _ours(tmp_path / "x2.ckpt", compose_config("train", *SMALL, "scale=2"))
    cfg = compose_config("train", *SMALL, "scale=4", f"init_from={x2}", f"paths.output_dir={tmp_path}")
    with caplog.at_level(logging.WARNING, logger="src.runtime.job"):
        init = _initialise(EDSR(4, n_resblocks=2, n_feats=8), cfg, job_identity(cfg))
    assert init["kept_init"] == ["tail.0.2.weight", "tail.0.2.bias"] and init["identity"]["scale"] == 2
    assert "2 tensor(s) kept their init" in caplog.text


def test_init_from_another_network_is_refused_but_relu_to_mish_is_a_study() -> None:
    relu = EDSR(2, n_resblocks=2, n_feats=8).state_dict()
    assert load_fitting(EDSR(2, n_resblocks=2, n_feats=8, act="mish"), relu) == []
    with pytest.raises(UserError, match=r"only 5 of the network's 20 tensors fit"):
        load_fitting(EDSR(2, n_resblocks=2, n_feats=16), relu, "other.ckpt")


def test_a_second_process_skips_a_locked_job_and_a_dead_holder_is_taken_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from src.runtime.locks import job_lock

    holder = subprocess.Popen(
        [sys.executable, "-c", f"from src.runtime.locks import job_lock\nwith job_lock({str(tmp_path)!r}): input()"],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        while not (tmp_path / "job.lock").exists() or not (tmp_path / "job.lock").read_text():
            assert holder.poll() is None
        with job_lock(tmp_path) as ours:
            assert not ours
        running = f"job {tmp_path} is running in PID {holder.pid} on {os.uname().nodename}; skipping\n"
        assert capsys.readouterr().out == running
    finally:
        holder.kill()
        holder.wait()
    with job_lock(tmp_path) as ours:
        assert ours
    assert f"took over the stale lock of PID {holder.pid}" in capsys.readouterr().out
    with job_lock(tmp_path) as ours:  # released cleanly: nothing stale to report
        assert ours
    assert capsys.readouterr().out == ""

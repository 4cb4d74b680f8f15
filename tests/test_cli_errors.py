"""Every CLI reports what the user can fix in one line (`error: ...`, exit 2), never a traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from src.contracts.errors import UserError
from tests.helpers import compose_config, run_cli


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("trainer.max_steps=0", "trainer.max_steps=0 must be"),
        ("data.batch_size=0", "data.batch_size=0 must be"),
        ("data.batch_size=-2", "data.batch_size=-2 must be"),
        ("data.patch_size=0", "data.patch_size=0 must be"),
        ("scale=abc", "scale=abc is not a number; use scale= one of 2, 3, 4"),
    ],
)
def test_a_training_request_that_cannot_run_is_refused_before_any_work(
    override: str, needle: str, tmp_path: Path
) -> None:
    from src.train import train

    with pytest.raises(UserError, match=needle):
        train(compose_config("train", "experiment=smoke", override, f"paths.output_dir={tmp_path}"))
    assert list(tmp_path.iterdir()) == []


def test_an_image_smaller_than_the_scale_is_named(tmp_path: Path) -> None:
    from src.data.datasets import load_pairs
    from src.data.images import write_image
    from src.data.layout import SetDirs

    write_image(tmp_path / "HR" / "dot.png", np.zeros((1, 1, 3), np.uint8))
    with pytest.raises(UserError, match=r"dot.png: 1x1 is smaller than the scale 2; remove it from"):
        load_pairs(SetDirs("tiny", tmp_path / "HR", tmp_path / "LR"), 2, cache_dir=tmp_path / "cache")


def _results(directory: Path) -> None:
    from src.contracts.results import write_results

    write_results(directory, {"status": "finished"})


def _checkpoint(directory: Path) -> None:
    from src.runtime.checkpoints import AtomicCheckpointIO

    AtomicCheckpointIO().save_checkpoint({"global_step": 1}, directory / "last.ckpt")


@pytest.mark.parametrize("write", [_results, _checkpoint], ids=["results", "checkpoint"])
def test_a_full_disk_is_one_line_and_leaves_no_partial_file(
    write, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UserError, match=f"no space left on {tmp_path} while writing") as info:
        write(tmp_path)
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []


def test_system_errors_on_a_path_read_as_one_line() -> None:
    from src.contracts.errors import user_message

    assert user_message(OSError(errno.ENOSPC, "No space left on device", "/big/run/x.png")) == (
        "no space left on /big/run; free some space or write elsewhere"
    )
    assert user_message(OSError(errno.EROFS, "Read-only file system", "/ro")).startswith("cannot use /ro (Read-only")
    assert user_message(ValueError("a bug")) is None  # keeps its traceback


@pytest.mark.parametrize("problem", ["file in the way", "read-only"])
def test_an_output_folder_that_cannot_be_written_is_one_line(
    problem: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from src.runtime.output_dir import check_output_dir

    (tmp_path / "file").touch()
    target = tmp_path / "file" / "run" if problem == "file in the way" else tmp_path / "run"
    if problem == "read-only":  # tests run as root, which chmod cannot stop: pretend
        monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(SystemExit) as stop:
        check_output_dir(target, "hydra.run.dir")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: output folder: cannot use {target}")
    assert "hydra.run.dir=" in err


def test_a_cache_folder_that_is_a_file_is_named(tmp_path: Path) -> None:
    from src.data.cache import cached_array
    from src.data.images import write_image

    write_image(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "cache").touch()
    with pytest.raises(UserError, match=f"cache folder {tmp_path / 'cache'} is a file; set data.cache_dir="):
        cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("module", "args", "needle"),
    [
        ("src.train", ["scale=abc"], "scale=abc is not a number"),
        ("src.evaluate", ["model=bicubic", "hydra.run.dir={tmp}/file/run"], "output folder: cannot use"),
        ("src.upscale", ["scale=abc", "input={tmp}", "output={tmp}/out"], "scale=abc is not a number"),
        ("src.data.make_lr", ["{tmp}/nowhere", "{tmp}/out", "--scale", "2"], "no such directory"),
        ("src.data.download", ["--data-dir", "{tmp}/file", "--only", "benchmark"], "{tmp}/file"),
        ("src.evaluate", ["ckpt={tmp}/file", "hydra.run.dir={tmp}/run"], "{tmp}/file: cannot read checkpoint"),
        ("src.evaluate", ["model=bicubic", "device=banana", "hydra.run.dir={tmp}/run"], "device=banana is not"),
        (
            "src.train",
            ["experiment=smoke", "init_from={tmp}/nope.ckpt", "hydra.run.dir={tmp}/run"],
            "init_from={tmp}/nope.ckpt: no such checkpoint file; pass init_from=",
        ),
        ("src.train", ["experiment=smoke", "seed=abc", "hydra.run.dir={tmp}/run"], "seed=abc must be a whole number"),
    ],
)
def test_every_cli_reports_a_user_error_in_one_line_with_exit_2(
    module: str, args: list[str], needle: str, tmp_path: Path
) -> None:
    (tmp_path / "file").touch()
    proc = run_cli(module, *(a.format(tmp=tmp_path) for a in args), cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr[-2000:]
    assert proc.stderr.startswith("error: ") and needle.format(tmp=tmp_path) in proc.stderr


@pytest.mark.parametrize(
    ("entry", "override", "needle"),
    [
        ("train", "seed=abc", "seed=abc must be a whole number"),
        ("train", "seed=-1", "seed=-1 must be a whole number of 0 or more"),
        ("train", "optim.lr=-1", "optim.lr=-1 must be a number above 0"),
        ("train", "optim.lr=abc", "optim.lr=abc must be a number above 0"),
        ("train", "activation=lrelu activation.params.negative_slope=abc", "negative_slope=abc is not a number"),
        ("train", "activation=gelu activation.params.approximate=banana", "activation gelu does not take"),
        ("train", "data.num_workers=-1", "data.num_workers=-1 must be a whole number of 0 or more"),
        ("train", "tile=-5", "tile=-5 must be a whole number of at least 1"),
        ("train", "tile_overlap=-1", "tile_overlap=-1 must be a whole number of 0 or more"),
        ("train", "trainer.max_steps=1.5", "trainer.max_steps=1.5 must be a whole number"),
        ("train", "data.steps_per_epoch=0", "data.steps_per_epoch=0 must be a whole number of at least 1"),
        ("train", "force=maybe", "force=maybe is not true or false"),
        ("evaluate", "data.max_pixels=abc", "data.max_pixels=abc must be a whole number"),
        ("evaluate", "tile=abc", "tile=abc must be a whole number"),
        ("evaluate", "device=banana", "device=banana is not a device; use device=auto, cpu, cuda or cuda:N"),
        ("evaluate", "self_ensemble=maybe", "self_ensemble=maybe is not true or false; set self_ensemble=true"),
        ("upscale", "self_ensemble=maybe", "self_ensemble=maybe is not true or false"),
        ("upscale", "force=maybe", "force=maybe is not true or false"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused_before_any_work(
    entry: str, override: str, needle: str, tmp_path: Path
) -> None:
    from src.evaluate import evaluate
    from src.upscale import upscale

    run = {"train": lambda cfg: __import__("src.train", fromlist=["train"]).train(cfg), "evaluate": evaluate}
    run["upscale"] = upscale
    extra = [f"input={tmp_path}", f"output={tmp_path}/out"] if entry == "upscale" else []
    base = ["experiment=smoke"] if entry == "train" else ["model=bicubic"]
    cfg = compose_config(entry, *base, *override.split(), *extra, f"paths.output_dir={tmp_path}")
    with pytest.raises(UserError, match=needle) as info:
        run[entry](cfg)
    assert "\n" not in str(info.value) and list(tmp_path.iterdir()) == []


def test_a_cuda_device_on_a_machine_without_one_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from src.contracts.checks import check_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match=r"device=cuda is not available on this machine \(0 cuda device"):
        check_device("cuda")
    check_device("cpu")
    check_device("auto")


def test_ctrl_c_while_lightning_builds_data_exits_130_not_1(capsys: pytest.CaptureFixture[str]) -> None:
    """Lightning turns a KeyboardInterrupt outside training steps into exit status 1; ours passes through."""
    import signal

    import lightning.pytorch as pl
    from lightning.pytorch.demos.boring_classes import BoringDataModule, BoringModel

    from src.contracts.ctrl_c import ctrl_c_stops
    from src.contracts.errors import user_errors_exit

    class CtrlCInSetup(BoringDataModule):
        def setup(self, stage: str) -> None:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
            super().setup(stage)

    @user_errors_exit
    def run() -> None:
        with ctrl_c_stops("rerun the same command to resume"):
            trainer = pl.Trainer(max_steps=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)
            trainer.fit(BoringModel(), datamodule=CtrlCInSetup())

    with pytest.raises(SystemExit) as stop:
        run()
    assert stop.value.code == 130
    assert capsys.readouterr().err.splitlines()[-1] == "interrupted; rerun the same command to resume"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


_CTRL_C_AT = """
import os, signal, sys
import {module} as target
original = target.{attr}
def interrupted(*args, **kwargs):
    stage = kwargs.get("stage", args[-1] if args else None)
    if {when}:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(1000): pass
    return original(*args, **kwargs)
target.{attr} = interrupted
import runpy
runpy.run_module("{entry}", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    ("entry", "module", "attr", "when"),
    [
        ("src.train", "src.data.datamodule", "SRDataModule.setup", "stage == 'fit'"),
        ("src.train", "src.data.datamodule", "SRDataModule.setup", "stage == 'test'"),
        ("src.evaluate", "src.protocol.scoring", "load_pairs", "True"),
    ],
    ids=["train-data-build", "train-test-stage", "evaluate"],
)
def test_ctrl_c_outside_training_steps_is_one_line_and_exit_130(
    entry: str, module: str, attr: str, when: str, data_root: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.helpers import PROJECT_ROOT

    patch = _CTRL_C_AT.format(module=module, attr=attr, when=when, entry=entry)
    args = ["model=bicubic"] if entry == "src.evaluate" else ["experiment=smoke", "trainer.max_steps=2", "logger=none"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HYDRA_FULL_ERROR": "0"}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            patch,
            *args,
            f"paths.data_dir={data_root}",
            "data.test_sets=[Set5]",
            f"hydra.run.dir={tmp_path}",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 130, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and proc.stderr.strip().splitlines()[-1].startswith("interrupted; ")
    assert not (tmp_path / "results.json").exists()

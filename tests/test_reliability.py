"""Resume, skip-if-done, divergence, bad input and unsafe checkpoints, through the real CLIs."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import PROJECT_ROOT, CodeRunningPickle, make_data_root, run_cli

pytestmark = pytest.mark.slow

SMOKE = ("experiment=smoke", "data.test_sets=[Set5]")


def _snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file below `directory`, except Hydra's own per-launch records."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file() and ".hydra" not in p.parts
    }


@pytest.fixture(scope="module")
def straight(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """results.json of the uninterrupted run that interrupted ones must end up identical to."""
    out = tmp_path_factory.mktemp("straight")
    assert run_cli("src.train", *RESUMABLE, f"paths.data_dir={data_root}", f"hydra.run.dir={out}").returncode == 0
    return json.loads((out / "results.json").read_text())


RESUMABLE = (*SMOKE, "trainer.deterministic=true", "trainer.max_steps=40", "logger=csv")


@pytest.mark.parametrize("damage", [False, True], ids=["intact", "damaged"])
def test_a_preempted_job_resumes_and_ends_as_an_uninterrupted_one(
    data_root: Path, tmp_path: Path, straight: dict, damage: bool
) -> None:
    """SIGTERM saves the step it stopped at and the rerun resumes from it; or, with that checkpoint cut short,
    the rerun sets it aside and resumes from the epoch's step checkpoint (through a last.ckpt link, as after
    a SIGKILL) without leaving last-vN.ckpt links."""
    args = [*RESUMABLE, f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "src.train", *args],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    stderr = proc.communicate()[1]
    assert proc.returncode == 143
    assert ckpt.exists() and not (tmp_path / "results.json").exists(), "the job was not stopped mid-run"
    saved = torch.load(ckpt, weights_only=True)
    assert 0 < saved["global_step"] < 40
    assert (
        saved["srsweep_identity"]["activation.name"] == "relu" and saved["srsweep_identity"]["model.net.n_feats"] == 8
    )
    step = saved["global_step"]
    assert stderr.strip().splitlines()[-1] == f"interrupted at step {step}; rerun the same command to resume"
    if damage:
        ckpt.write_bytes(ckpt.read_bytes()[:1000])
    again = run_cli("src.train", *args)
    assert again.returncode == 0, again.stderr[-2000:]
    assert ("unreadable checkpoint" in again.stdout) == damage
    # The newest step checkpoint before the interruption (every steps_per_epoch steps; where SIGTERM lands
    # depends on the machine's speed).
    resumed = re.search(r"resuming from the newest readable checkpoint, step(\d+)\.ckpt", again.stdout)
    assert (resumed is not None) == damage, again.stdout
    if damage:
        assert 0 < int(resumed.group(1)) <= step and int(resumed.group(1)) % 4 == 0
    assert sorted(p.name for p in ckpt.parent.iterdir() if "damaged" not in p.name) == ["last.ckpt", "step40.ckpt"]
    assert len(list(ckpt.parent.glob("*.damaged-*"))) == damage  # kept aside, never deleted
    resumed = json.loads((tmp_path / "results.json").read_text())
    assert resumed["train"]["steps"] == 40
    assert resumed["metrics"]["Set5"]["images"] == straight["metrics"]["Set5"]["images"]
    assert resumed["history"]["train/loss"] == straight["history"]["train/loss"]


def test_two_sweeps_at_once_train_each_job_once_a_rerun_skips_them_and_force_redoes_them(
    data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "sweep"
    args = ["-m", "activation=relu,mish", *SMOKE, f"paths.data_dir={data_root}", f"hydra.sweep.dir={out}"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    cmd = [sys.executable, "-m", "src.train", *args]
    procs = [
        subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(2)
    ]
    stdout = "".join(p.communicate()[0] for p in procs)
    assert [p.returncode for p in procs] == [0, 0]
    assert stdout.count("finished after") == 2 and stdout.count("skipping") == 2, stdout
    before = {job: _snapshot(job) for job in sorted(out.glob("[0-9]*"))}
    assert len(before) == 2
    again = run_cli("src.train", *args)
    assert again.returncode == 0
    assert again.stdout.count("skipping") == 2
    assert {job: _snapshot(job) for job in sorted(out.glob("[0-9]*"))} == before
    forced = run_cli("src.train", *args[:-1], f"hydra.sweep.dir={out}", "force=true")
    assert forced.returncode == 0
    for job in before:
        kept = list(job.glob("results.json.before-*"))
        assert len(kept) == 1 and kept[0].read_bytes() == before[job]["results.json"][0]
        assert (job / "results.json").stat().st_mtime_ns > before[job]["results.json"][1]


def test_a_diverged_job_is_recorded_and_the_sweep_goes_on(data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        "optim.lr=1e-3,1e12",
        *SMOKE,
        f"paths.data_dir={data_root}",
        f"hydra.sweep.dir={out}",
        "logger=none",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = {
        json.loads(p.read_text())["config"]["optim"]["lr"]: json.loads(p.read_text())
        for p in out.glob("*/results.json")
    }
    assert results[1e-3]["status"] == "finished"
    diverged = results[1e12]
    assert diverged["status"] == "diverged" and diverged["metrics"] == {}
    assert isinstance(diverged["diverged_at_step"], int) and diverged["diverged_at_step"] < 8
    assert "non-finite loss" in proc.stdout


def _one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_missing_and_empty_data_dirs_say_where_and_how_to_get_data(tmp_path: Path) -> None:
    proc = run_cli("src.train", *SMOKE, f"paths.data_dir={tmp_path / 'nowhere'}", f"hydra.run.dir={tmp_path / 'a'}")
    _one_line_error(proc, str(tmp_path / "nowhere"), "make data")
    (tmp_path / "empty" / "DIV2K" / "DIV2K_train_HR").mkdir(parents=True)
    proc = run_cli("src.train", *SMOKE, f"paths.data_dir={tmp_path / 'empty'}", f"hydra.run.dir={tmp_path / 'b'}")
    _one_line_error(proc, "no images", "make data")


def test_a_corrupt_image_is_named(benchmark_dir: Path, tmp_path: Path) -> None:
    root = make_data_root(tmp_path / "root", benchmark_dir)
    bad = root / "DIV2K" / "DIV2K_train_HR" / "zebra.png"
    bad.write_bytes(bad.read_bytes()[:2000])  # truncated
    proc = run_cli("src.train", *SMOKE, f"paths.data_dir={root}", f"hydra.run.dir={tmp_path / 'run'}")
    _one_line_error(proc, "zebra.png", "corrupt or truncated")


def test_an_image_over_the_pixel_limit_is_refused(data_root: Path, tmp_path: Path) -> None:
    proc = run_cli(
        "src.train", *SMOKE, f"paths.data_dir={data_root}", "data.max_pixels=1000", f"hydra.run.dir={tmp_path}"
    )
    _one_line_error(proc, "decompression-bomb", "data.max_pixels")


def test_an_unsupported_scale_is_refused(data_root: Path, tmp_path: Path) -> None:
    proc = run_cli("src.train", *SMOKE, "scale=5", f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path}")
    _one_line_error(proc, "unsupported scale 5", "scale=2, 3 or 4")


def test_an_unknown_activation_lists_the_choices(data_root: Path, tmp_path: Path) -> None:
    proc = run_cli("src.train", *SMOKE, "activation=tanhh", f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path}")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "Could not find 'activation/tanhh'" in proc.stderr and "mish" in proc.stderr


def test_a_checkpoint_that_does_not_fit_names_the_differences_and_overwrites_nothing(
    benchmark_dir: Path, tmp_path: Path
) -> None:
    from src.models.edsr import EDSR

    ckpt = tmp_path / "x2.pt"
    torch.save(EDSR(2).state_dict(), ckpt)
    out = tmp_path / "eval"
    out.mkdir()
    (out / "results.json").write_text("{}")
    proc = run_cli(
        "src.evaluate",
        "scale=4",
        f"ckpt={ckpt}",
        f"paths.data_dir={benchmark_dir.parent}",
        "data.test_sets=[Set5]",
        f"hydra.run.dir={out}",
    )
    _one_line_error(proc, "does not fit the model", "tail.0.2.weight", "scale=")
    assert (out / "results.json").read_text() == "{}"


def test_a_malicious_pickle_checkpoint_is_refused_and_does_not_run(benchmark_dir: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"state_dict": CodeRunningPickle(marker)}, evil)
    proc = run_cli(
        "src.evaluate",
        f"ckpt={evil}",
        f"paths.data_dir={benchmark_dir.parent}",
        "data.test_sets=[Set5]",
        f"hydra.run.dir={tmp_path / 'eval'}",
    )
    _one_line_error(proc, "refused to load", str(evil))
    assert not marker.exists()


def test_wandb_failure_falls_back_to_local_logging(data_root: Path, tmp_path: Path) -> None:
    env = {"WANDB_MODE": "online", "HOME": str(tmp_path), "WANDB_API_KEY": ""}
    proc = run_cli("src.train", *SMOKE, f"paths.data_dir={data_root}", f"hydra.run.dir={tmp_path / 'run'}", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "W&B unavailable" in proc.stdout + proc.stderr
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "finished"
    assert list((tmp_path / "run" / "csv").rglob("metrics.csv"))


def test_grey_and_rgba_images_are_handled(benchmark_dir: Path, tmp_path: Path) -> None:
    root = make_data_root(tmp_path / "root", benchmark_dir)
    train = root / "DIV2K" / "DIV2K_train_HR"
    Image.open(train / "baboon.png").convert("L").save(train / "baboon.png")
    Image.open(train / "comic.png").convert("RGBA").save(train / "comic.png")
    baby = root / "benchmark" / "Set5" / "HR" / "baby.png"
    rgba = np.dstack([np.asarray(Image.open(baby)), np.full((512, 512), 128, np.uint8)])
    Image.fromarray(rgba).save(baby)
    (root / "benchmark" / "Set5" / "LR_bicubic" / "X2" / "babyx2.png").unlink()
    proc = run_cli("src.train", *SMOKE, f"paths.data_dir={root}", f"hydra.run.dir={tmp_path / 'run'}", "logger=none")
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads((tmp_path / "run" / "results.json").read_text())
    assert set(res["metrics"]["Set5"]["images"]) == {"baby", "bird", "butterfly", "head", "woman"}


def test_two_launches_in_the_same_second_get_their_own_directories(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    args = [sys.executable, "-m", "src.train", *SMOKE, f"paths.data_dir={tmp_path / 'nowhere'}"]
    procs = [
        subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait() for p in procs] == [2, 2]  # both fail fast on the missing data, after Hydra made their dirs
    runs = sorted((tmp_path / "outputs" / "train").iterdir())
    assert len(runs) == 2 and runs[0].name[:16] == runs[1].name[:16]  # same minute, distinct directories

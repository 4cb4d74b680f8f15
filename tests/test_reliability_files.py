"""Files in shared folders: written with the umask's mode, never through a planted link, stale temporary files
of killed writers cleaned (only ours, only dead ones), W&B trouble never stops a job (issue #26, items 9-11, 13)."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from src.contracts.atomic import STALE_AFTER_S, atomic_write, sweep_stale
from src.contracts.errors import UserError


@pytest.fixture
def umask():
    """Set the process umask for one test and put it back."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _results(d: Path) -> Path:
    from src.contracts.results import write_results

    return write_results(d, {"status": "finished"})


def _checkpoint(d: Path) -> Path:
    from src.runtime.checkpoints import AtomicCheckpointIO

    AtomicCheckpointIO().save_checkpoint({"global_step": 1}, d / "last.ckpt")
    return d / "last.ckpt"


def _image(d: Path) -> Path:
    from src.data.images import write_image

    write_image(d / "a_x2.png", np.zeros((4, 4, 3), np.uint8))
    return d / "a_x2.png"


def _cache(d: Path) -> Path:
    from src.data.cache import cached_array

    src = _image(d)
    cached_array(src, cache_dir=d / "cache")
    return next((d / "cache").glob("*.npy"))


@pytest.mark.parametrize("write", [_results, _checkpoint, _image, _cache], ids=lambda f: f.__name__[1:])
@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_files_get_the_umasks_mode_not_0600(write, mask: int, umask, tmp_path: Path) -> None:
    umask(mask)
    path = write(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_writing_replaces_a_planted_link_and_never_writes_through_it(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "results.json").symlink_to(outside)
    _results(tmp_path / "job")
    assert outside.read_text() == "keep me" and not (tmp_path / "job" / "results.json").is_symlink()


def _stale(directory: Path, pid: int, age: float = STALE_AFTER_S + 5) -> Path:
    path = directory / f".last.ckpt.{pid}-0123abcd.srtmp"
    path.write_bytes(b"half a checkpoint")
    then = time.time() - age
    os.utime(path, (then, then))
    return path


def test_a_killed_writers_temporary_file_is_removed_and_nothing_else(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    stale = _stale(tmp_path, dead_pid)
    young = _stale(tmp_path, dead_pid + 1, age=0)  # its writer may not have locked it yet
    own = _stale(tmp_path, os.getpid())
    foreign = tmp_path / ".results.json.tmp"  # someone else's naming: never ours to touch
    foreign.write_text("x")
    os.utime(foreign, (0, 0))
    held = _stale(tmp_path, dead_pid + 2)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import fcntl,os\nfd=os.open({str(held)!r},os.O_RDWR)\nfcntl.lockf(fd,fcntl.LOCK_EX)\n"
            "print('locked',flush=True)\ninput()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert sweep_stale(tmp_path) == [stale]
    finally:
        holder.kill()
        holder.wait()
    assert not stale.exists() and young.exists() and own.exists() and foreign.exists() and held.exists()


def test_atomic_write_sweeps_its_folder_once(tmp_path: Path) -> None:
    stale = _stale(tmp_path, 2**22 + 7)  # above pid_max's default: no such process
    atomic_write(tmp_path / "results.json", lambda f: f.write(b"{}"))
    assert not stale.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_a_planted_job_lock_link_is_refused_and_its_target_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from src.runtime.locks import job_lock

    secret = tmp_path / "secret.txt"
    secret.write_text("PRIVATE CONTENT")
    job = tmp_path / "job"
    job.mkdir()
    (job / "job.lock").symlink_to(secret)
    link = r"job.lock is a symbolic link to .*secret.txt; .* remove the link"
    with pytest.raises(UserError, match=link), job_lock(job):
        pass
    assert secret.read_text() == "PRIVATE CONTENT" and "PRIVATE" not in capsys.readouterr().out
    (job / "job.lock").unlink()
    os.link(secret, job / "job.lock")  # a hard link is caught too
    with pytest.raises(UserError, match="a hard link shared by 2 names"), job_lock(job):
        pass
    assert secret.read_text() == "PRIVATE CONTENT"


@pytest.mark.parametrize("name", ["results.json", "checkpoints", "wandb_run_id", "wandb"])
def test_a_job_whose_files_are_planted_links_is_refused(name: str, tmp_path: Path) -> None:
    from src.runtime.locks import job_lock

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / name).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserError, match=f"{name} is a symbolic link"), job_lock(tmp_path / "job"):
        pass


@pytest.mark.parametrize("content", ["", "   \n", "not/an id?"])
def test_a_bad_wandb_run_id_file_gets_a_new_id_instead_of_ending_wandb(content: str, tmp_path: Path) -> None:
    from src.runtime.loggers import _run_id

    (tmp_path / "wandb_run_id").write_text(content)
    run_id = _run_id(tmp_path / "wandb_run_id")
    assert len(run_id) == 8 and (tmp_path / "wandb_run_id").read_text() == run_id
    assert _run_id(tmp_path / "wandb_run_id") == run_id  # kept: a resumed job continues the same run


class _FailingWandb:
    def __init__(self, err: Exception):
        self.err, self.calls = err, 0

    def log_image(self, *args, **kwargs) -> None:
        self.calls += 1
        raise self.err

    def log_metrics(self, *args, **kwargs) -> None:
        self.calls += 1


@pytest.mark.parametrize(
    ("err", "said"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "/tmp/wandb-media-x1/crop.png"), "mounted at /"),
        (ValueError("upload of val/crops failed"), "upload of val/crops failed"),
    ],
    ids=["disk full", "upload"],
)
def test_wandb_trouble_during_training_is_one_warning_and_training_goes_on(
    err: Exception, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    from src.runtime.loggers import guard

    logger = _FailingWandb(err)
    guard(logger)
    with caplog.at_level(logging.WARNING, logger="src.runtime.loggers"):
        logger.log_image("val/crops", [])
        logger.log_metrics({"loss": 1.0})
        logger.log_image("val/crops", [])
    assert logger.calls == 1  # W&B logging stopped after the failure; nothing raised
    assert len(caplog.records) == 1 and said in caplog.text and "training goes on" in caplog.text
    if isinstance(err, OSError):
        assert "no space left on the file system" in caplog.text


@pytest.mark.slow
def test_training_into_a_job_with_a_planted_lock_link_is_one_line_and_the_target_untouched(tmp_path: Path) -> None:
    from tests.helpers import run_cli

    secret = tmp_path / "secret.txt"
    secret.write_text("PRIVATE CONTENT")
    job = tmp_path / "job"
    job.mkdir()
    (job / "job.lock").symlink_to(secret)
    proc = run_cli("src.train", "experiment=smoke", f"paths.data_dir={tmp_path}", f"hydra.run.dir={job}")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert proc.stderr.startswith(f"error: {job / 'job.lock'} is a symbolic link") and proc.stderr.count("\n") == 1
    assert secret.read_text() == "PRIVATE CONTENT" and "PRIVATE" not in proc.stdout + proc.stderr

"""One process per job directory: a lock file holding the PID of the process that trains there.

The lock is a POSIX record lock (`fcntl.lockf`), which the kernel releases when its process dies however it
dies, so a lock can never outlive its holder; the PID written inside is only for the message. A file left
with a PID in it whose lock is free belongs to a process that died: the next one takes it over and says so.

Job folders may sit in shared places: the lock file is opened without following links (`O_NOFOLLOW`), and a
job whose own files (lock, results, checkpoints, W&B id and folder) are links someone planted is refused in
one line before anything is written, so no file outside the job is ever truncated, renamed or printed.
"""

from __future__ import annotations

import fcntl
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.contracts.errors import UserError
from src.contracts.rundir import RunDir


@contextmanager
def job_lock(directory: Path) -> Iterator[bool]:
    """Yield True while this process holds the job's lock, False (after one line saying who does) if another
    live process holds it. The file stays (empty) afterwards: unlinking it would let a waiter lock a ghost."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    refuse_planted_links(directory)
    fd = _open_lock(RunDir(directory).lock)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            print(f"job {directory} is running in {_holder(fd)}; skipping", flush=True)
            yield False
            return
        previous = _holder(fd)
        if previous:
            print(f"job {directory}: took over the stale lock of {previous} (that process is gone)", flush=True)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"PID {os.getpid()} on {socket.gethostname()}".encode(), 0)
        try:
            yield True
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _holder(fd: int) -> str:
    return os.pread(fd, 256, 0).decode(errors="replace").strip()


def refuse_planted_links(directory: Path) -> None:
    """One line, before anything is written, if a file or folder the job writes is a symbolic link: writing
    would go through it to whatever it names (the tool makes no such links; Lightning's `last.ckpt` link sits
    inside `checkpoints/`, which src.runtime.checkpoints checks)."""
    job = RunDir(directory)
    for path in (job.lock, job.results, job.checkpoints, job.wandb_id, job.wandb):
        if path.is_symlink():
            raise UserError(
                f"{path} is a symbolic link to {os.readlink(path)}; this tool never writes through a link it did "
                "not make: remove the link (its target is untouched) and rerun"
            )


def _open_lock(path: Path) -> int:
    """The lock file, never through a link and only if it is a plain file of this folder alone."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o666)
    except OSError as err:
        raise UserError(f"cannot open the job lock {path} ({err.strerror}); remove it and rerun") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
        os.close(fd)
        what = "not a plain file" if not stat.S_ISREG(st.st_mode) else f"a hard link shared by {st.st_nlink} names"
        raise UserError(f"job lock {path} is {what}; remove it (this tool makes a plain file there) and rerun")
    return fd

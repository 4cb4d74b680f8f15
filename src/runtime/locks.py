"""One process per job directory: a lock file holding the PID of the process that trains there.

The lock is a POSIX record lock (`fcntl.lockf`), which the kernel releases when its process dies however it
dies, so a lock can never outlive its holder; the PID written inside is only for the message. A file left
with a PID in it whose lock is free belongs to a process that died: the next one takes it over and says so.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from src.contracts.rundir import RunDir


@contextmanager
def job_lock(directory: Path) -> Iterator[bool]:
    """Yield True while this process holds the job's lock, False (after one line saying who does) if another
    live process holds it. The file stays (empty) afterwards: unlinking it would let a waiter lock a ghost."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = RunDir(directory).lock
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
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

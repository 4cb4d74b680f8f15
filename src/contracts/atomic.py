"""Writing a file so that readers see the old file or the whole new one, never a part.

The bytes go to a temporary file in the target's own directory (a rename is atomic only within one file
system), are fsynced (so a crash after the rename cannot leave an empty file), then renamed over the target.
A failure removes the temporary file, and a full disk becomes one line naming the directory.

Shared folders: the file gets the mode an ordinary `open()` would give it (0666 less the umask), not
`mkstemp`'s private 0600, so colleagues can read results, checkpoints, cache entries and images. The rename
replaces a symbolic link at the target rather than writing through it. A temporary file is named after its
writer's PID and holds a record lock while it is written; one left by a killed process (the kernel drops its
lock) is removed by the next writer in that folder, and nothing else is ever touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import secrets
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from src.contracts.errors import UserError

# `.<target name>.<pid>-<random>.srtmp`: ours alone, so a sweep of a folder never removes anyone else's files.
_TMP = re.compile(r"^\..+\.(\d+)-[0-9a-f]{8}\.srtmp$")
# A temporary file younger than this is never judged stale (its writer may not have locked it yet).
STALE_AFTER_S = 60.0
_swept: set[Path] = set()


class NoSpaceError(UserError, OSError):
    """The disk filled up while writing; nothing partial was left behind."""


def umask() -> int:
    """The process's umask, read without changing it where the kernel says it (Linux), else set back at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(
    target: Path, write: Callable[[BinaryIO], None], before_replace: Callable[[Path], None] | None = None
) -> Path:
    """Write `target` through a temporary file; `before_replace(tmp)` runs on the complete, fsynced temporary
    file just before the rename (a checkpoint's checksum is embedded there)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target.parent)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.srtmp"
    f = os.fdopen(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600), "wb")
    try:
        with f:
            _lock(f.fileno())
            os.fchmod(f.fileno(), 0o666 & ~umask())
            write(f)
            f.flush()
            os.fsync(f.fileno())
            if before_replace is not None:
                before_replace(tmp)
            os.replace(tmp, target)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise NoSpaceError(
                f"no space left on {target.parent} while writing {target.name}; free some space and rerun "
                "(nothing partial was kept)"
            ) from None
        raise
    return target


def _lock(fd: int) -> None:
    """Hold a record lock on our temporary file until it is renamed or this process dies. Where the file system
    has no locks (some NFS mounts) the write goes on unlocked, and `_abandoned` never judges such files."""
    with contextlib.suppress(OSError):
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def sweep_stale(directory: Path) -> list[Path]:
    """Remove our temporary files in `directory` whose writer is gone (once per folder and process)."""
    directory = Path(directory)
    if directory in _swept:
        return []
    _swept.add(directory)
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    for name in names:
        match = _TMP.match(name)
        if match and int(match.group(1)) != os.getpid() and _abandoned(directory / name):
            (directory / name).unlink(missing_ok=True)
            removed.append(directory / name)
    return removed


def _abandoned(path: Path) -> bool:
    """A regular file of ours, untouched for a while, whose record lock nobody holds (its writer died)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False  # a link, gone, or not ours to open
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < STALE_AFTER_S:
            return False
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live writer holds it
        return True
    finally:
        os.close(fd)  # releases the lock we may have taken

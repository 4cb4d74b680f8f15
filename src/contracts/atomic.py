"""Writing a file so that readers see the old file or the whole new one, never a part.

The bytes go to a temporary file in the target's own directory (a rename is atomic only within one file
system), are fsynced (so a crash after the rename cannot leave an empty file), then renamed over the target.
A failure removes the temporary file, and a full disk becomes one line naming the directory.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from src.contracts.errors import UserError


class NoSpaceError(UserError, OSError):
    """The disk filled up while writing; nothing partial was left behind."""


def atomic_write(target: Path, write: Callable[[BinaryIO], None]) -> Path:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise NoSpaceError(
                f"no space left on {target.parent} while writing {target.name}; free some space and rerun "
                "(nothing partial was kept)"
            ) from None
        raise
    return target

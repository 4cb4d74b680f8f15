"""User-facing errors and how entry points fail: bad input is one line on stderr and exit code 2, never a traceback.

Every CLI of the project (src.train, src.evaluate, src.upscale, src.data.download, src.data.make_lr, ...)
wraps its body in `user_errors_exit`, and reports what the user can fix as a `UserError`.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar


class UserError(Exception):
    """Bad input the user can fix; the message names the problem and the fix on one line."""


class Interrupted(Exception):
    """A job stopped by a signal after saving its state: one line, and a non-zero exit (128 + the signal's
    number, as a shell reports a process a signal ended) that no scheduler takes for success."""

    def __init__(self, step: int, signum: int):
        super().__init__(f"interrupted at step {step}; rerun the same command to resume")
        self.step, self.signum = step, signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


T = TypeVar("T")

# Operating-system errors a user fixes by choosing another path or freeing space, and the fix to name.
_PATH_FIXES = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EACCES: "choose a folder you can write to",
    errno.EROFS: "choose a folder on a writable file system",
    errno.ENOTDIR: "a file stands where a folder is needed; choose another path",
    errno.EEXIST: "a file stands where a folder is needed; choose another path",
    errno.EISDIR: "a folder stands where a file is needed; choose another path",
}


def user_errors_exit(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn a `UserError` (or a path the system refused) into `error: <message>` and exit 2, and a job stopped
    by a signal into its one line and 128 + the signal (HYDRA_FULL_ERROR=1 shows the traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Interrupted as stop:
            print(stop, file=sys.stderr, flush=True)
            raise SystemExit(stop.exit_code) from None
        except Exception as err:
            message = user_message(err)
            if message is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print("error: " + " ".join(message.split()), file=sys.stderr, flush=True)  # one line, always
            raise SystemExit(2) from None

    return wrapper


def user_message(err: BaseException | None) -> str | None:
    """The one line for the UserError behind `err` (also when Hydra's instantiate wrapped it), or for an OS
    error on a path the user chose; None for anything else, which is a bug and keeps its traceback."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, UserError):
            return str(err)
        if isinstance(err, OSError) and err.errno in _PATH_FIXES and err.filename:
            if err.errno == errno.ENOSPC:
                return f"no space left on {os.path.dirname(os.path.abspath(err.filename))}; {_PATH_FIXES[err.errno]}"
            return f"cannot use {err.filename} ({err.strerror}); {_PATH_FIXES[err.errno]}"
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None

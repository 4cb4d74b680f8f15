"""How entry points fail: bad input is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import TypeVar

from src.errors import UserError

T = TypeVar("T")


def user_errors_exit(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn a `UserError` into `error: <message>` and exit 2 (HYDRA_FULL_ERROR=1 shows the traceback)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as err:
            user_error = _user_error(err)
            if user_error is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            print(f"error: {user_error}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None

    return wrapper


def _user_error(err: BaseException | None) -> UserError | None:
    """The UserError behind `err`, also when Hydra's instantiate wrapped it in its own exception."""
    seen = 0
    while err is not None and seen < 10:
        if isinstance(err, UserError):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None

"""Ctrl-C anywhere in an entry point: one line and exit 130, as a shell reports SIGINT, never a traceback.

Training steps have their own handler (src.runtime.callbacks.SaveOnSignal saves the step first); this one
covers the rest: building data, the test stage, scoring. It raises an exception of ours rather than
`KeyboardInterrupt`, which Lightning catches and turns into exit status 1, and which Python prints as a
traceback everywhere else.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

from src.contracts.errors import Interrupted


class CtrlC(Interrupted):
    """SIGINT outside a training step: `user_errors_exit` prints the line and exits 130."""

    def __init__(self, advice: str):
        Exception.__init__(self, f"interrupted; {advice}")
        self.step, self.signum = None, int(signal.SIGINT)


@contextmanager
def ctrl_c_stops(advice: str) -> Iterator[None]:
    """While inside, SIGINT raises `CtrlC(advice)`; `advice` says what the rerun does."""

    def stop(signum: int, frame: object) -> None:
        raise CtrlC(advice)

    try:
        previous = signal.signal(signal.SIGINT, stop)
    except ValueError:  # not the main thread: signals are not ours to catch
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

"""User-facing errors: entry points print their one-line message and exit non-zero, without a traceback."""


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

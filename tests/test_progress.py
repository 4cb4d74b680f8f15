"""Progress in logs: plain lines every N steps when stdout is not a terminal, the bar only in a terminal."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from src.runtime.progress import ProgressLines, format_eta


def _trainer(step: int, max_steps: int = 100, loss: float | None = 0.5) -> SimpleNamespace:
    metrics = {} if loss is None else {"train/loss": torch.tensor(loss)}
    return SimpleNamespace(global_step=step, max_steps=max_steps, is_global_zero=True, callback_metrics=metrics)


def test_prints_a_line_every_n_steps_and_at_the_last(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ProgressLines(every_n_steps=10, enabled=True, name="edsr-relu-x2-s0")
    progress.on_train_start(_trainer(0), None)
    for step in range(1, 101):
        progress.on_train_batch_end(_trainer(step), None, None, None, step - 1)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10
    assert lines[0].startswith("[edsr-relu-x2-s0] step 10/100  loss 0.5  ")
    assert "steps/s" in lines[0] and "ETA" in lines[0] and "\r" not in "".join(lines)
    assert lines[-1].startswith("[edsr-relu-x2-s0] step 100/100")


def test_silent_when_disabled_or_not_rank_zero(capsys: pytest.CaptureFixture[str]) -> None:
    quiet = ProgressLines(every_n_steps=1, enabled=False)
    quiet.on_train_start(_trainer(0), None)
    quiet.on_train_batch_end(_trainer(1), None, None, None, 0)
    other_rank = ProgressLines(every_n_steps=1, enabled=True)
    other_rank.on_train_start(_trainer(0), None)
    other_rank.on_train_batch_end(
        SimpleNamespace(**{**vars(_trainer(1)), "is_global_zero": False}), None, None, None, 0
    )
    assert capsys.readouterr().out == ""


def test_default_follows_whether_stdout_is_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from omegaconf import OmegaConf

    from src.contracts import resolvers

    resolvers.register()

    for tty in (True, False):
        monkeypatch.setattr("sys.stdout.isatty", lambda tty=tty: tty)
        assert ProgressLines().enabled is (not tty)
        assert OmegaConf.create({"bar": "${isatty:}"}).bar is tty


@pytest.mark.parametrize(("seconds", "text"), [(5, "0:05"), (125, "2:05"), (3725, "1:02:05"), (-3, "0:00")])
def test_format_eta(seconds: float, text: str) -> None:
    assert format_eta(seconds) == text


def test_lightning_messages_reach_the_console_once_and_without_tips(monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    import lightning.pytorch  # noqa: F401  (attaches Lightning's own console handlers)

    from src.runtime.progress import quiet_lightning_console

    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])  # as Hydra's job logging leaves it
    quiet_lightning_console()
    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        assert not [h for h in logging.getLogger(name).handlers if type(h) is logging.StreamHandler]
        assert logging.getLogger(name).propagate

    def passes(message: str) -> bool:
        record = logging.LogRecord(
            "lightning.pytorch.utilities.rank_zero", logging.INFO, __file__, 1, message, None, None
        )
        return logging.getLogger("lightning.pytorch.utilities.rank_zero").filter(record)

    assert passes("GPU available: False")
    assert not passes("💡 Tip: try a product")

"""Test helpers: tiny data roots in the official layouts, running the real CLIs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TRAIN_IMAGES = ("baboon", "comic", "zebra")  # textured Set14 HR images stand in for DIV2K_train_HR


def make_data_root(root: Path, benchmark_dir: Path, sets: tuple[str, ...] = ("Set5",)) -> Path:
    """`root/DIV2K/DIV2K_train_HR/*.png` (no LR folder: LR is made from HR) and `root/benchmark/<set>`."""
    train = root / "DIV2K" / "DIV2K_train_HR"
    train.mkdir(parents=True)
    for name in TRAIN_IMAGES:
        shutil.copyfile(benchmark_dir / "Set14" / "HR" / f"{name}.png", train / f"{name}.png")
    for name in sets:
        shutil.copytree(benchmark_dir / name, root / "benchmark" / name, copy_function=shutil.copyfile)
    return root


def run_cli(
    module: str, *args: str, cwd: Path | None = None, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`python -m <module> args...` from the project root, with output captured."""
    full_env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "HYDRA_FULL_ERROR": "0", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd or PROJECT_ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_tiny_sweep(out: Path, data_root: Path, *axes: str) -> subprocess.CompletedProcess:
    """`python -m src.train -m <axes>` on the smoke experiment cut to 4 steps, scored on Set5, no logger."""
    return run_cli(
        "src.train", "-m", "experiment=smoke", *axes, "trainer.max_steps=4", "data.val_images=1",
        f"paths.data_dir={data_root}", "data.test_sets=[Set5]", f"hydra.sweep.dir={out}", "logger=none",
    )  # fmt: skip


def compose_config(config_name: str, *overrides: str):
    """The config an entry point would get, composed in-process (faster than a CLI run); set
    `paths.output_dir=...` in the overrides, since Hydra's runtime dir does not exist here."""
    from hydra import compose, initialize_config_dir

    from src.contracts import resolvers

    resolvers.register()

    with initialize_config_dir(config_dir=str(PROJECT_ROOT / "conf"), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


def exit_code(main, argv: list[str]) -> int:
    """What `sys.exit(main(argv))` would exit with: entry points wrapped in
    `src.contracts.errors.user_errors_exit` raise
    SystemExit on a user error, and return their code otherwise."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


class CodeRunningPickle:
    """Unpickling this runs `touch <marker>`: what a planted checkpoint could do if loaded unsafely."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def assert_relu_file_loads_into(variant, state: dict, source: str, act: str, slopes: set[str]) -> None:
    """A ReLU file in the official layout loads into `variant` (any activation): strictly, except that PReLU's
    learnable slopes (`slopes`) are the only keys it lacks; every tensor of the file arrives unchanged."""
    import torch

    from src.models.weights import load_weights

    if act != "prelu":
        variant.load_state_dict(state, strict=True)
    load_weights(variant, state, source)
    own = variant.state_dict()
    assert all(torch.equal(own[k], v) for k, v in state.items())
    assert set(own) - set(state) == (slopes if act == "prelu" else set())

"""First use by jobs started at the same moment on an empty cache (`make demo` runs a job per core).

Each test starts 4 processes behind a barrier, 3 rounds, each round on empty folders. Every process uses the
resource for the first time (builds it, or finds it built) and then keeps reading it until all four have
done so, plus one more pass: whatever it read must still be there, unchanged (same file, same bytes), on every
later pass. A builder that moved a finished root away, or replaced a cache entry another process had open,
fails here.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from src.data import cache, demo
from src.data.demo import MANIFEST, build_bundled
from src.data.images import write_image

PROCESSES = 4
ROUNDS = 3
PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 120  # a process still reading after this long has lost its peers; the test fails, it never hangs

Snapshot = dict[str, tuple[int, str]]  # file -> (inode, digest of its content)


def _digest(array: np.ndarray) -> str:
    return hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()


def _run(use: Callable, look: Callable[..., Snapshot], rounds: list[tuple], barrier, used, queue) -> None:
    """One process, every round: first use together with the others, then read until all have used it."""
    counted = 0  # rounds this process has counted itself in
    try:
        snapshots = []
        for round_, args in enumerate(rounds):
            barrier.wait(timeout=DEADLINE_S)
            use(*args)
            with used.get_lock():
                used[round_] += 1
            counted += 1
            snapshots.append(_read_until_all_used(look, args, lambda r=round_: used[r] == PROCESSES))
        queue.put(("ok", snapshots))
    except BaseException as err:  # reported to the parent, whatever it is (a raw FileNotFoundError included)
        barrier.abort()  # the others stop waiting for this process
        queue.put(("failed", f"{type(err).__name__}: {err}"))
    finally:
        with used.get_lock():
            for round_ in range(counted, len(rounds)):
                used[round_] += 1


def _read_until_all_used(look: Callable[..., Snapshot], args: tuple, all_used: Callable[[], bool]) -> Snapshot:
    """What this process reads must stay there, unchanged, until every process has used it (one pass more)."""
    first = look(*args)
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        everyone = all_used()  # before the pass: one whole pass after the last use
        again = look(*args)
        if again != first:
            changed = sorted(k for k in first.keys() | again.keys() if first.get(k) != again.get(k))
            raise AssertionError(f"{len(changed)} file(s) vanished or changed under a reader: {changed[:3]}")
        if everyone:
            return first
        time.sleep(0.05)  # leave the builders the CPU
    raise TimeoutError(f"the other processes did not finish within {DEADLINE_S} s")


def _together(use: Callable, look: Callable[..., Snapshot], rounds: list[tuple]) -> None:
    """`PROCESSES` fresh interpreters run `_run` at once; every one must succeed and all must read the same."""
    ctx = mp.get_context("spawn")  # fresh processes, as joblib's workers are; no state inherited from pytest
    barrier, used, queue = ctx.Barrier(PROCESSES), ctx.Array("i", len(rounds)), ctx.Queue()
    procs = [ctx.Process(target=_run, args=(use, look, rounds, barrier, used, queue)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    try:
        outcomes = [queue.get(timeout=(len(rounds) + 1) * DEADLINE_S) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=30)
    failures = [detail for status, detail in outcomes if status != "ok"]
    assert not failures, failures
    first = outcomes[0][1]
    assert all(snapshots == first for _, snapshots in outcomes), "processes read different files"
    assert all(first), "a round read nothing"


# The bundled data root (src/data/demo.py) -------------------------------------------------------------------


SMALL = "skimage-small"


def _build_root(root: Path) -> None:
    # A few of the demo's photos (this process only): the same code path, a quarter-second build instead of 2 s.
    train, val, test = demo.BUNDLES["skimage"]
    demo.BUNDLES.setdefault(
        SMALL,
        (
            {k: train[k] for k in ("page", "chessboard", "horse")},
            {k: val[k] for k in ("microaneurysms",)},
            {k: test[k] for k in ("camera", "text", "brick")},
        ),
    )
    build_bundled(SMALL, root)


def _look_root(root: Path) -> Snapshot:
    return {
        str(p.relative_to(root)): (p.stat().st_ino, hashlib.sha1(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_four_jobs_building_the_data_root_at_once_all_read_one_root_that_never_changes(tmp_path: Path) -> None:
    roots = [tmp_path / f"round{round_}" / "demo" for round_ in range(ROUNDS)]
    _together(_build_root, _look_root, [(root,) for root in roots])
    for root in roots:
        assert json.loads((root / MANIFEST).read_text())["bundled"] == SMALL and len(list(root.rglob("*.png"))) == 7
        # The losers discarded their copies: only the root is left, no building or retired folders.
        assert [p.name for p in root.parent.iterdir()] == ["demo"]


# The decoded-image cache and the LR images made from HR (src/data/cache.py) ----------------------------------


def _fill_cache(images: list[Path], cache_dir: Path) -> None:
    from src.data.datasets import _make_lr  # the LR made from HR, as a job's data module makes it

    for path in images:
        cache.cached_array(path, cache_dir=cache_dir)
        cache.cached_array(path, "lr_x2", _make_lr(2), cache_dir=cache_dir)


def _look_cache(images: list[Path], cache_dir: Path) -> Snapshot:
    seen = {}
    for path in images:
        for variant in ("decoded", "lr_x2"):
            entry = cache_dir / f"{cache._key(path, variant)}.npy"
            record = entry.with_suffix(".json")
            assert cache._problem(entry) is None, f"{entry.name}: {cache._problem(entry)}"
            seen[entry.name] = (entry.stat().st_ino, _digest(np.load(entry)))
            seen[record.name] = (record.stat().st_ino, record.read_text())
    return seen


def test_four_jobs_filling_an_empty_image_cache_at_once_never_see_an_entry_replaced(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = []
    for i in range(8):
        images.append(tmp_path / "images" / f"{i}.png")
        write_image(images[-1], rng.integers(0, 256, (96, 72, 3 if i % 2 else 1), dtype=np.uint8))
    cache_dirs = [tmp_path / f"cache{round_}" for round_ in range(ROUNDS)]
    _together(_fill_cache, _look_cache, [(images, cache_dir) for cache_dir in cache_dirs])
    for cache_dir in cache_dirs:
        # Two entries (HR decoded, LR made from it) with their records per image; no private copies left over.
        assert len(list(cache_dir.iterdir())) == 4 * len(images)
        lr = np.load(cache_dir / f"{cache._key(images[0], 'lr_x2')}.npy")
        assert lr.shape == (48, 36, 1)


# A file removed under a job (a cache cleared by hand) is one line, never a raw FileNotFoundError ------------


def test_files_removed_under_a_job_are_one_line_user_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from src.contracts.errors import UserError
    from src.data import layout

    with pytest.raises(UserError, match="no such image file"):
        cache.cached_array(tmp_path / "gone.png", cache_dir=tmp_path / "cache")
    write_image(tmp_path / "a.png", np.zeros((4, 4, 1), np.uint8))
    cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")  # checked by this process ...
    for entry in (tmp_path / "cache").iterdir():
        entry.unlink()  # ... then the cache is cleared while the job runs
    with pytest.raises(UserError, match="changed while in use"):
        cache.cached_array(tmp_path / "a.png", cache_dir=tmp_path / "cache")

    def removed(*_args: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", str(tmp_path / "x"))

    monkeypatch.setattr(layout, "list_images", removed)
    with pytest.raises(UserError, match="removed while being read"):
        layout.set_images(tmp_path, "DIV2K HR folder")
    monkeypatch.setattr(demo, "_write_photos", removed)
    with pytest.raises(UserError, match="rerun the command") as err:
        build_bundled("skimage", tmp_path / "demo")
    assert "\n" not in str(err.value) and not list(tmp_path.glob(".demo.*"))


# Matplotlib's font cache under a fresh HOME (torchmetrics imports pyplot in every training job) --------------


def _import_matplotlib(config_dir: Path) -> None:
    os.environ["MPLCONFIGDIR"] = str(config_dir)  # this process has not imported matplotlib yet (spawn)
    from matplotlib import font_manager

    font_manager.findfont("DejaVu Sans", fallback_to_default=False)


def _look_fonts(config_dir: Path) -> Snapshot:
    from matplotlib import font_manager

    # Matplotlib rewrites its cache file in place (under its own lock); what must hold of it is checked after.
    font = Path(font_manager.findfont("DejaVu Sans", fallback_to_default=False))
    return {font.name: (font.stat().st_ino, str(font))}


def test_four_jobs_importing_matplotlib_on_an_empty_font_cache_all_start(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        config_dir = tmp_path / f"mpl{round_}"
        _together(_import_matplotlib, _look_fonts, [(config_dir,)])  # fresh processes: matplotlib loads once
        (cache_file,) = config_dir.glob("fontlist-*.json")
        assert json.loads(cache_file.read_text())["ttflist"]  # whole, not a torn write
        assert not list(config_dir.glob("*.matplotlib-lock"))
    # The cache the four left behind is used as is by the next process: no rebuild.
    env = {**os.environ, "MPLCONFIGDIR": str(config_dir)}
    code = "import logging; logging.basicConfig(level=logging.INFO); import matplotlib.font_manager"
    after = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert after.returncode == 0 and "generated new fontManager" not in after.stderr, after.stderr[-2000:]


# Everything at once: four demo jobs through the joblib launcher on an empty HOME ------------------------------

# Settings that would point a job at folders that are not fresh (the test session sets some of them).
NOT_FRESH = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR", "WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR")


def fresh_env(home: Path) -> dict[str, str]:
    """The environment of a newcomer's first command: an empty HOME holding the data root and the cache."""
    env = {k: v for k, v in os.environ.items() if k not in NOT_FRESH}
    return env | {
        "HOME": str(home),
        "SR_DEMO_DATA_DIR": str(home / "demo-data"),
        "SR_CACHE_DIR": str(home / "cache"),
        "WANDB_MODE": "offline",
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(PROJECT_ROOT),
        "HYDRA_FULL_ERROR": "0",
    }


@pytest.mark.slow
def test_four_demo_jobs_started_at_once_on_an_empty_home_all_finish(tmp_path: Path) -> None:
    """The data root, the image cache, matplotlib's and W&B's folders, Hydra's job folders and the job locks,
    all made for the first time by 4 jobs at once (the demo's launcher, 4 workers)."""
    from src.contracts.rundir import RunDir

    home, sweep = tmp_path / "home", tmp_path / "sweep"
    home.mkdir()
    axes = ["experiment=demo", "scale=2", "seed=0,1", "activation=relu,identity", "hydra.launcher.n_jobs=4"]
    # A few steps, and the 2 validation photos as the test set: the first use is the same, the job shorter.
    short = ["trainer.max_steps=3", "data.steps_per_epoch=3", "optim.milestones=[2]", "data.test_sets=[PhotosVal]"]
    proc = subprocess.run(
        [sys.executable, "-m", "src.train", "-m", *axes, *short, f"hydra.sweep.dir={sweep}"],
        env=fresh_env(home),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Traceback" not in output, output[-3000:]
    jobs = [RunDir(p) for p in sorted(sweep.glob("x2-*"))]
    assert len(jobs) == 4
    for job in jobs:
        assert json.loads(job.results.read_text())["status"] == "finished"
        assert job.hydra_config.is_file() and list(job.wandb.glob("offline-run-*/run-*.wandb"))
    assert json.loads((home / "demo-data" / MANIFEST).read_text())["bundled"] == "skimage"
    assert [p.name for p in home.iterdir() if "demo-data" in p.name] == ["demo-data"]  # no builder's leftovers
    assert not [p for p in (home / "cache").iterdir() if p.suffix not in (".npy", ".json")]

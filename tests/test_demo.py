"""`make demo`: the bundled real-photo data root, the demo configs, and one demo job end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from benchmarks import demo as demo_bench
from src.contracts import resolvers
from src.contracts.errors import UserError
from src.data import demo
from src.data.demo import MANIFEST, SKIMAGE_TEST, SKIMAGE_TRAIN, SKIMAGE_VAL, TEST_SET, VAL_SET, build_bundled
from tests.helpers import run_cli

resolvers.register()  # before Hydra composes any config

CONF = str(Path(__file__).resolve().parents[1] / "conf")
TRAIN_DIR = Path("DIV2K", "DIV2K_train_HR")
TEST_DIR = Path("benchmark", TEST_SET, "HR")
VAL_DIR = Path("benchmark", VAL_SET, "HR")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundled") / "demo"
    build_bundled("skimage", path)
    return path


def _pngs(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir())}


def test_the_bundled_root_has_train_val_and_test_photos_in_the_official_layouts(root: Path) -> None:
    groups = {TRAIN_DIR: SKIMAGE_TRAIN, VAL_DIR: SKIMAGE_VAL, TEST_DIR: SKIMAGE_TEST}
    for folder, photos in groups.items():
        assert sorted(_pngs(root / folder)) == sorted(photos)
    assert len(SKIMAGE_TEST) >= 10  # enough test images for a set-level mean that does not hang on one photo
    boxes = {**SKIMAGE_TRAIN, **SKIMAGE_VAL, **SKIMAGE_TEST}
    for folder in groups:
        for name, path in _pngs(root / folder).items():
            with Image.open(path) as im:
                _, _, h, w = boxes[name].box
                assert im.mode in ("RGB", "L") and im.size == (w, h), name
                assert h % 12 == 0 and w % 12 == 0  # the same HR pixels at x2, x3 and x4
    assert json.loads((root / MANIFEST).read_text())["version"] == demo.VERSION


def test_test_images_are_disjoint_from_training_and_validation_by_name_file_and_content(root: Path) -> None:
    held_out = {**SKIMAGE_TRAIN, **SKIMAGE_VAL}
    assert not set(SKIMAGE_TEST) & set(held_out) and not set(SKIMAGE_VAL) & set(SKIMAGE_TRAIN)
    # No test photo is a crop of a training or validation photo: different source files ...
    assert not {p.file for p in SKIMAGE_TEST.values()} & {p.file for p in held_out.values()}

    # ... and different pixels (a renamed copy of a training file would pass the checks above).
    def hashes(folder: Path) -> set[str]:
        return {hashlib.sha256(np.asarray(Image.open(p)).tobytes()).hexdigest() for p in _pngs(folder).values()}

    test = hashes(root / TEST_DIR)
    assert len(test) == len(SKIMAGE_TEST)
    assert not test & (hashes(root / TRAIN_DIR) | hashes(root / VAL_DIR))
    assert not hashes(root / VAL_DIR) & hashes(root / TRAIN_DIR)


def test_a_second_build_rewrites_nothing_and_leaves_no_temporary_dirs(root: Path) -> None:
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    build_bundled("skimage", root)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before
    assert [p.name for p in root.parent.iterdir()] == [root.name]


def test_a_root_from_another_version_is_rebuilt(tmp_path: Path) -> None:
    root = tmp_path / "demo"
    build_bundled("skimage", root)
    stale = json.loads((root / MANIFEST).read_text()) | {"version": -1}
    (root / MANIFEST).write_text(json.dumps(stale))
    (root / TRAIN_DIR / "leftover.png").write_bytes(b"")
    build_bundled("skimage", root)
    assert json.loads((root / MANIFEST).read_text())["version"] == demo.VERSION
    assert sorted(_pngs(root / TRAIN_DIR)) == sorted(SKIMAGE_TRAIN)
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]


def test_a_folder_holding_other_files_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "mine.txt").write_text("keep")
    with pytest.raises(UserError, match="not a bundled data root"):
        build_bundled("skimage", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def test_an_unknown_bundle_is_a_one_line_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown bundled data set 'div2k'") as err:
        build_bundled("div2k", tmp_path / "demo")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "demo").exists()


def test_the_makefile_runs_the_sweep_the_benchmark_times_with_x2_before_x4() -> None:
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    line = next(ln for ln in makefile.splitlines() if ln.startswith("DEMO_AXES :="))
    assert tuple(line.split(":=", 1)[1].split()) == demo_bench.SWEEP_AXES
    assert demo_bench.SCALES == (2, 4)
    # x2 and x4 are separate sweeps, x2 first: jobs of one sweep run side by side, and x4 needs its x2 job.
    assert "for scale in 2 4; do" in makefile and "-m scale=$$scale $(DEMO_AXES)" in makefile
    assert "identity" in next(a for a in demo_bench.SWEEP_AXES if a.startswith("activation="))
    assert len(next(a for a in demo_bench.SWEEP_AXES if a.startswith("seed=")).split(",")) >= 3


def test_a_demo_record_inside_the_project_is_reported_by_its_relative_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_bench, "PROJECT_ROOT", tmp_path)
    record = tmp_path / "multirun" / "demo-1" / demo_bench.RECORD
    record.parent.mkdir(parents=True)
    record.write_text(json.dumps({"seconds": 1.0, "finished": "2026-01-01T00:00:00+00:00"}))
    res = demo_bench.bench(multirun=tmp_path / "multirun")
    assert res["record"] == str(Path("multirun", "demo-1", demo_bench.RECORD))
    assert str(tmp_path) not in res["summary"]


def _compose(config: str, *overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name=config, overrides=list(overrides))


def test_the_demo_experiment_sets_its_own_schedule_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_DEMO_DATA_DIR", "/somewhere/demo")
    x2, x4 = (_compose("train", "experiment=demo", f"scale={s}") for s in (2, 4))
    assert x4.paths.data_dir == "/somewhere/demo" and x4.data.bundled == "skimage"
    assert list(x4.data.test_sets) == [TEST_SET] and list(x4.data.val_sets) == [VAL_SET]
    assert x4.trainer.accelerator == "cpu" and x4.model.net.n_resblocks < 16
    # An experiment must win over train.yaml's own defaults (EDSR's lr 1e-4 would not beat bicubic in time).
    assert x2.optim.lr == x4.optim.lr == 2.0e-3
    # x4 starts from the x2 job's weights, so it gets fewer steps; each scale's lr drops fall inside its run.
    assert x4.init_from == "x2" and x4.trainer.max_steps < x2.trainer.max_steps <= 1000
    for cfg in (x2, x4):
        assert min(cfg.optim.milestones) > 0 and max(cfg.optim.milestones) < cfg.trainer.max_steps


def test_bicubic_composes_with_the_demo_experiment() -> None:
    cfg = _compose("evaluate", "model=bicubic", "experiment=demo")
    assert cfg.data.bundled == "skimage" and list(cfg.data.test_sets) == [TEST_SET]
    assert type(instantiate(cfg.model.net)).__name__ == "Bicubic"


@pytest.mark.slow
def test_one_demo_job_bicubic_and_the_report(tmp_path: Path) -> None:
    env = {"SR_DEMO_DATA_DIR": str(tmp_path / "data")}
    sweep = tmp_path / "sweep"
    train = run_cli(
        "src.train",
        "experiment=demo",
        "scale=2",
        "logger=none",
        "trainer.max_steps=6",
        "data.steps_per_epoch=3",
        "optim.milestones=[4]",
        f"hydra.run.dir={sweep / 'relu_x2'}",
        env=env,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "[edsr_demo-relu-x2-s0] finished after 6 steps" in train.stdout
    bicubic = run_cli(
        "src.evaluate",
        "model=bicubic",
        "experiment=demo",
        "scale=2",
        f"hydra.run.dir={sweep / 'bicubic_x2'}",
        env=env,
    )
    assert bicubic.returncode == 0, bicubic.stderr[-3000:]
    for job in ("relu_x2", "bicubic_x2"):
        res = json.loads((sweep / job / "results.json").read_text())
        assert res["status"] == "finished" and sorted(res["metrics"][TEST_SET]["images"]) == sorted(SKIMAGE_TEST)
    report = run_cli("src.report", str(sweep))
    assert report.returncode == 0, report.stderr[-3000:]
    header = next(
        line for line in (sweep / "report" / "table1.md").read_text().splitlines() if line.startswith("| Scale")
    )
    assert [c.strip() for c in header.strip("|").split("|")][-2:] == ["Bicubic", "ReLU"]


def _make_variable(makefile: str, name: str) -> list[str]:
    line = next(ln for ln in makefile.splitlines() if ln.startswith(f"{name} :="))
    return [arg.strip("'") for arg in line.split(":=", 1)[1].split()]


def test_demo_smoke_is_the_demo_recipe_in_miniature_from_a_fresh_home_and_ci_runs_it() -> None:
    project = Path(__file__).resolve().parents[1]
    makefile = (project / "Makefile").read_text()
    recipe = makefile[makefile.index("\ndemo-smoke:") : makefile.index("\ntest:")]
    # `make demo` itself with other variables, not a copy of its commands; fresh HOME, data root, cache; no W&B.
    assert "$(MAKE) --no-print-directory demo " in recipe and "src.train" not in recipe
    for setting in ('HOME="$$fresh/home"', "SR_DEMO_DATA_DIR=", "SR_CACHE_DIR=", "WANDB_MODE=offline"):
        assert setting in recipe
    assert "make demo-smoke" in (project / ".ci" / "run").read_text()
    # Its sweep: both activation kinds and 2 seeds, jobs side by side, and overrides the demo config accepts.
    axes, args = _make_variable(makefile, "SMOKE_AXES"), _make_variable(makefile, "SMOKE_TRAIN_ARGS")
    assert "activation=relu,identity" in axes and "seed=0,1" in axes and "hydra.launcher.n_jobs=4" in args
    single = [a for a in axes if "," not in a] + [a for a in args if not a.startswith("hydra.")]
    for scale in (2, 4):
        cfg = _compose("train", f"scale={scale}", *single)
        assert cfg.trainer.max_steps <= 10 and max(cfg.optim.milestones) < cfg.trainer.max_steps
        assert cfg.data.bundled == "skimage" and cfg.init_from == "x2"

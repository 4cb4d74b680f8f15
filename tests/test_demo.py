"""`make demo`: the bundled real-photo data root, the demo configs, and one demo job end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

import src.config  # noqa: F401  (resolvers)
from src.data import demo
from src.data.demo import MANIFEST, SKIMAGE_TEST, SKIMAGE_TRAIN, TEST_SET, build_bundled
from src.errors import UserError
from tests.helpers import run_cli

CONF = str(Path(__file__).resolve().parents[1] / "conf")
TRAIN_DIR = Path("DIV2K", "DIV2K_train_HR")
TEST_DIR = Path("benchmark", TEST_SET, "HR")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bundled") / "demo"
    build_bundled("skimage", path)
    return path


def _pngs(folder: Path) -> dict[str, Path]:
    return {p.stem: p for p in sorted(folder.iterdir())}


def test_the_bundled_root_has_disjoint_rgb_train_and_test_photos_in_the_official_layouts(root: Path) -> None:
    train, test = _pngs(root / TRAIN_DIR), _pngs(root / TEST_DIR)
    assert sorted(train) == sorted(SKIMAGE_TRAIN) and sorted(test) == sorted(SKIMAGE_TEST)
    assert not set(train) & set(test)
    # Disjoint by source file too: no test photo is a crop of a training photo.
    assert not {p.file for p in SKIMAGE_TRAIN.values()} & {p.file for p in SKIMAGE_TEST.values()}
    for name, path in {**train, **test}.items():
        assert path.suffix == ".png"
        with Image.open(path) as im:
            _, _, h, w = {**SKIMAGE_TRAIN, **SKIMAGE_TEST}[name].box
            assert im.mode == "RGB" and im.size == (w, h), name
            assert h % 12 == 0 and w % 12 == 0  # the same HR pixels at x2, x3 and x4
    assert json.loads((root / MANIFEST).read_text())["version"] == demo.VERSION


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


def _compose(config: str, *overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name=config, overrides=list(overrides))


def test_the_demo_experiment_sets_its_own_schedule_and_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_DEMO_DATA_DIR", "/somewhere/demo")
    cfg = _compose("train", "experiment=demo", "scale=4")
    assert cfg.paths.data_dir == "/somewhere/demo" and cfg.data.bundled == "skimage"
    assert list(cfg.data.test_sets) == [TEST_SET] and cfg.trainer.accelerator == "cpu"
    assert cfg.model.net.n_resblocks < 16 and cfg.trainer.max_steps <= 1000
    # An experiment must win over train.yaml's own defaults (EDSR's lr 1e-4 would not beat bicubic in time).
    assert cfg.optim.lr == 1.0e-3 and list(cfg.optim.milestones) == [300, 400]


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

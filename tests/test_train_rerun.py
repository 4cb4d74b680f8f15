"""A launch into a folder that already holds a job: the same experiment resumes or skips, another is refused
with the folder exactly as it was, a damaged results.json is set aside and the job redone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from src.contracts.rundir import RunDir
from tests.helpers import compose_config, run_cli

pytestmark = pytest.mark.slow

TINY = ("experiment=smoke", "data.test_sets=[Set5]", "trainer.max_steps=2")


def _files(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtime of every file below `directory`, Hydra's records included."""
    return {
        str(p.relative_to(directory)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def sweep(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished one-job sweep (ReLU, seed 0) whose job folder the tests copy and rerun into."""
    out = tmp_path_factory.mktemp("earlier") / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        "activation=relu",
        *TINY,
        f"paths.data_dir={data_root}",
        "logger=none",
        f"hydra.sweep.dir={out}",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


def _copy(sweep: Path, tmp_path: Path) -> RunDir:
    return RunDir(shutil.copytree(sweep / "0", tmp_path / "job"))  # copy2: mtimes kept


def _refused(proc, *needles: str) -> str:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-2000:]
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert "resuming" not in proc.stdout and "skipping" not in proc.stdout
    return errors[0]


@pytest.mark.parametrize("left", ["checkpoint", "hydra config"])
def test_a_folder_interrupted_as_relu_refuses_mish_seed_5(sweep: Path, data_root: Path, tmp_path: Path, left: str):
    """Before: 'resuming' and Mish-labelled results trained from the ReLU weights."""
    job = _copy(sweep, tmp_path)
    job.results.unlink()  # what an interrupted job leaves: its last checkpoint and Hydra's records
    if left == "hydra config":  # stopped before its first checkpoint
        shutil.rmtree(job.checkpoints)
    before = _files(job.path)
    proc = run_cli(
        "src.train", *TINY, "activation=mish", "seed=5", f"paths.data_dir={data_root}", f"hydra.run.dir={job.path}"
    )
    source = job.last_checkpoint.name if left == "checkpoint" else ".hydra/config.yaml"
    _refused(proc, "activation.name relu vs mish, seed 0 vs 5", f"from its {source}", "hydra.run.dir", "force=true")
    assert _files(job.path) == before


def test_a_scale_4_rerun_into_an_x2_folder_is_one_line(sweep: Path, data_root: Path, tmp_path: Path):
    """Before: a traceback (the x2 weights do not fit the x4 network)."""
    job = _copy(sweep, tmp_path)
    before = _files(job.path)
    proc = run_cli("src.train", *TINY, "scale=4", f"paths.data_dir={data_root}", f"hydra.run.dir={job.path}")
    _refused(proc, "scale 2 vs 4", "from its results.json")
    assert _files(job.path) == before


def test_a_second_different_sweep_into_the_folder_is_refused_and_changes_nothing(
    sweep: Path, data_root: Path, tmp_path: Path
):
    """Before: 'skipping ... results.json exists' for every job, exit 0, and each job's overrides.yaml rewritten."""
    copy = shutil.copytree(sweep, tmp_path / "sweep")
    before = _files(copy)
    proc = run_cli(
        "src.train", "-m", "activation=mish,swish", *TINY, f"paths.data_dir={data_root}", f"hydra.sweep.dir={copy}"
    )
    _refused(proc, f"{copy / '0'} holds another experiment (activation.name relu vs mish", "hydra.sweep.dir")
    assert _files(copy) == before  # .hydra/overrides.yaml and multirun.yaml included
    assert not (copy / "1").exists()


@pytest.mark.parametrize("damage", ["truncated", "empty", "a list"])
def test_a_damaged_results_json_is_set_aside_and_the_job_redone(
    sweep: Path, data_root: Path, tmp_path: Path, damage: str, capsys: pytest.CaptureFixture[str]
):
    from src.train import train

    job = _copy(sweep, tmp_path)
    good = json.loads(job.results.read_text())
    bad = {"truncated": job.results.read_bytes()[:100], "empty": b"", "a list": b"[1, 2]"}[damage]
    job.results.write_bytes(bad)
    cfg = compose_config("train", *TINY, f"paths.data_dir={data_root}", "logger=none", f"paths.output_dir={job.path}")
    results = train(cfg)
    out = capsys.readouterr().out
    kept = list(job.path.glob(f"{job.results.name}.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == bad and f"kept it as {kept[0].name}" in out
    assert "skipping" not in out and results["status"] == "finished" and results["identity"] == good["identity"]
    assert json.loads(job.results.read_text())["metrics"] == results["metrics"]


def test_force_redoes_a_different_experiment_and_keeps_the_earlier_files(sweep: Path, data_root: Path, tmp_path: Path):
    from src.train import train

    job = _copy(sweep, tmp_path)
    earlier = job.results.read_bytes()
    cfg = compose_config(
        "train",
        *TINY,
        "activation=mish",
        "force=true",
        f"paths.data_dir={data_root}",
        "logger=none",
        f"paths.output_dir={job.path}",
    )
    assert train(cfg)["identity"]["activation.name"] == "mish"
    assert [p.read_bytes() for p in job.path.glob(f"{job.results.name}.before-*")] == [earlier]

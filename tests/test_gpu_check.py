"""`make gpu-check` on a CPU (tiny sizes) and the k-jobs-per-GPU hook: every section runs, its record has the
promised structure, and what only a GPU can measure is skipped with a reason, never faked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmarks import gpu_check, gpu_check_fast
from benchmarks.gpu_check_plan import NOT_MEASURED
from src.contracts.errors import UserError
from src.runtime import gpu_share
from tests.helpers import compose_config

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU path of machines without CUDA")


def _check(tmp_path: Path, sections: list[str], capsys: pytest.CaptureFixture) -> dict:
    out = tmp_path / "gpu_check.json"
    assert gpu_check.main(["--only", *sections, "--out", str(out)]) == 0
    assert NOT_MEASURED in capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record["measured"] is False and record["note"] == NOT_MEASURED and record["passed"] is True
    assert list(record["sections"]) == sections
    for name, section in record["sections"].items():
        assert "error" not in section, (name, section)
        assert section["summary"] and section["seconds"] > 0
    return record


@no_cuda
def test_cpu_path_runs_the_in_process_sections(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    record = _check(tmp_path, ["fast_path", "speed", "eval"], capsys)
    fast = record["sections"]["fast_path"]
    assert set(fast["runs"]) == set(gpu_check_fast.SWITCHES)
    assert "CUDA only" in fast["runs"]["compile"]["skipped"]
    for name, run in fast["runs"].items():
        if "skipped" not in run:
            assert run["steps"] == record["plan"]["curve_steps"] and run["within_tolerance"], name
    assert fast["runs"]["bf16_mixed"]["precision"] == "bf16-mixed"
    assert fast["runs"][gpu_check_fast.REFERENCE]["max_relative_gap"] == 0.0
    speed = record["sections"]["speed"]
    assert set(speed["variants"]) == {"project", "edsr_pytorch_fp32", "edsr_pytorch_bf16"}
    assert speed["variants"]["project"]["images_per_s"] > 0 and speed["flops_per_step"] > 0
    assert "bf16 peak" in speed["mfu"]["skipped"] and speed["project_mfu"] is None
    evaluation = record["sections"]["eval"]
    assert evaluation["devices"] == ["cpu", "cpu"] and evaluation["passed"]
    assert {"untiled", "tiled"} <= evaluation["comparison"].keys()
    assert evaluation["comparison"]["tiled_vs_untiled_max_psnr_diff_db"] < 0.05
    assert "CUDA" in evaluation["peak_memory"]["skipped"] and evaluation["tiled_peak_mem_ratio"] is None
    assert {"gpu_max_curve_gap", "gpu_max_psnr_diff_db"} <= record["figures"].keys()


@pytest.mark.slow
@no_cuda
def test_cpu_path_runs_the_sweeps_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    record = _check(tmp_path, ["sweeps"], capsys)
    sweeps = record["sections"]["sweeps"]
    ddp = sweeps["ddp_sweep"]
    assert ddp["passed"] and "NCCL" in ddp["backend"]["skipped"]
    assert [j["status"] for j in ddp["jobs"]] == ["finished", "finished"]
    assert all(j["wandb_offline_runs"] == 1 for j in ddp["jobs"])
    demo = sweeps["gpu_shared"]["edsr_demo"]
    assert demo["k2"]["jobs"] == demo["k2"]["finished"] == 2 and len(demo["k2"]["per_job_images_per_s"]) == 2
    assert demo["k2"]["total_images_per_s"] == pytest.approx(sum(demo["k2"]["per_job_images_per_s"]))
    assert record["figures"]["gpu_shared_edsr_demo_k2_images_per_s"]["value"] == demo["k2"]["total_images_per_s"]
    for skipped in (demo["k1"], demo["k4"], sweeps["gpu_shared"]["edsr_baseline"]["k2"]):
        assert "only make sense on CUDA" in skipped["skipped"]


def test_curve_windows_and_gap() -> None:
    history = [[0, 1.0], [1, 3.0], [2, 5.0], [3, 7.0], [4, 9.0]]
    assert gpu_check_fast.window_means(history, 2) == [2.0, 6.0]  # the incomplete last window is dropped
    assert gpu_check_fast.curve_gap([1.0, 2.06], [1.0, 2.0]) == pytest.approx(0.03)
    assert gpu_check_fast.curve_gap([1.0], [1.0, 2.0]) == float("inf")
    assert gpu_check_fast.curve_gap([float("nan"), 2.0], [1.0, 2.0]) == float("inf")


def test_memory_share() -> None:
    assert gpu_share.memory_share(4, "auto") == pytest.approx(0.95 / 4)
    assert gpu_share.memory_share(2, 0.3) == 0.3
    assert gpu_share.memory_share(2, None) is None
    with pytest.raises(UserError, match=r"memory_fraction=1\.5"):
        gpu_share.memory_share(2, 1.5)
    with pytest.raises(UserError, match="jobs_per_gpu=0"):
        gpu_share.ShareGpu(jobs_per_gpu=0)


def _hold_slots(lock_dir: Path, slots: int) -> subprocess.Popen:
    """Another process (another job's worker) holding the first `slots` slots until its stdin closes."""
    # POSIX record locks belong to a process: one process claiming twice would get slot 0 twice.
    code = (
        "import fcntl, os, sys\n"
        f"os.makedirs({str(lock_dir)!r}, exist_ok=True)\n"
        f"paths = [os.path.join({str(lock_dir)!r}, f'slot{{s}}.lock') for s in range({slots})]\n"
        "fds = [os.open(path, os.O_RDWR | os.O_CREAT) for path in paths]\n"
        "[fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB) for fd in fds]\n"
        "print('held', flush=True); sys.stdin.read()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "held"
    return child


def test_each_job_claims_a_free_slot_and_the_gpu_of_that_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_share, "_claimed", {})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5")
    cfg = compose_config("train", "paths.output_dir=" + str(tmp_path / "job"))
    sweep = cfg.copy()
    from omegaconf import OmegaConf, open_dict

    with open_dict(sweep):
        OmegaConf.update(sweep, "hydra.sweep.dir", str(tmp_path), merge=False)
    child = _hold_slots(tmp_path / ".gpu_slots", 2)  # slots 0 and 1: both jobs of GPU 3
    try:
        gpu_share.ShareGpu(jobs_per_gpu=2).on_job_start(sweep)
        assert gpu_share._claimed["slot"] == 2 and os.environ["CUDA_VISIBLE_DEVICES"] == "5"
        with pytest.raises(UserError, match="all 2 GPU slots"):
            gpu_share.claim_slot(tmp_path / ".gpu_slots", 2)
    finally:
        child.communicate("")
        os.close(gpu_share._claimed["fd"])


def test_without_cuda_or_outside_a_sweep_the_hook_leaves_the_job_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from hydra.types import RunMode
    from omegaconf import OmegaConf, open_dict

    monkeypatch.setattr(gpu_share, "_claimed", {})
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    cfg = compose_config("train", f"paths.output_dir={tmp_path}")
    gpu_share.ShareGpu(jobs_per_gpu=4).on_job_start(cfg)
    assert gpu_share._claimed == {} and "CUDA_VISIBLE_DEVICES" not in os.environ
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    with open_dict(cfg):
        OmegaConf.update(cfg, "hydra", {"mode": RunMode.RUN, "sweep": {"dir": str(tmp_path)}}, merge=False)
    gpu_share.ShareGpu(jobs_per_gpu=4).on_job_start(cfg)  # a single run: no neighbours, no slot
    assert gpu_share._claimed == {} and not (tmp_path / ".gpu_slots").exists()


def test_gpu_shared_preset_sets_k_jobs_and_the_hook() -> None:
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from src.contracts import resolvers

    resolvers.register()
    conf = str(Path(__file__).resolve().parents[1] / "conf")
    with initialize_config_dir(config_dir=conf, version_base="1.3"):
        cfg = compose(
            "train", ["hydra/launcher=gpu_shared", "hydra.callbacks.gpu_share.jobs_per_gpu=4"], return_hydra_config=True
        )
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == 4
    hook = instantiate(cfg.hydra.callbacks.gpu_share)
    assert isinstance(hook, gpu_share.ShareGpu) and hook.share == pytest.approx(0.95 / 4)
    assert "gpu_share" not in cfg.get("callbacks", {})  # a Hydra callback: nothing enters the job's identity

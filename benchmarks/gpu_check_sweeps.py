"""`make gpu-check`, sweeps through the real CLI: a `-m` sweep of two DDP jobs over every visible GPU, and k jobs
side by side on one GPU (`hydra/launcher=gpu_shared`) for k = 1, 2, 4 on the demo network and EDSR baseline.

Both run `python -m src.train -m ...` in a subprocess on the bundled demo data (`experiment=demo`'s images, built
once under ~/.cache/srsweep/demo or SR_DEMO_DATA_DIR), so they test what a user types. A k-job sweep's total
throughput is the sum of its jobs' own images/s (`results.json` train.samples_per_second; the k jobs train at
the same time), and, more conservatively, all images over the sweep's wall time (process start included).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import PROJECT_ROOT
from benchmarks.gpu_check_plan import Plan, skipped
from src.contracts.results import read_results
from src.contracts.rundir import RunDir, walk_jobs

ALL_KS = (1, 2, 4)
ALL_MODELS = ("edsr_demo", "edsr_baseline")
SHARE_STEPS = {"edsr_demo": 1200, "edsr_baseline": 800}  # on a GPU: several seconds of training per job


def _sweep(sweep_dir: Path, args: list[str], timeout: float) -> float:
    """Runs one `-m` sweep and returns its wall seconds (raises, with the end of its output, if it failed)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "WANDB_MODE": "offline", "HYDRA_FULL_ERROR": "1"}
    cmd = [sys.executable, "-m", "src.train", "-m", *args, f"hydra.sweep.dir={sweep_dir}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[2:])} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    return time.perf_counter() - t0


def demo_data_dir() -> Path:
    """Where `experiment=demo` keeps its bundled data (conf/experiment/demo.yaml), reused rather than rebuilt."""
    return Path(os.environ.get("SR_DEMO_DATA_DIR", Path.home() / ".cache" / "srsweep" / "demo"))


def _job_args(plan: Plan, steps: int, batch: int) -> list[str]:
    # experiment=demo's data, not the experiment itself: it brings its own launcher and learning-rate schedule.
    return [
        "data.bundled=skimage",
        "data.train_set=DIV2K",
        "data.val_sets=[PhotosVal]",
        "data.val_images=null",
        "data.test_sets=[Photos]",
        "data.num_workers=0",
        f"data.batch_size={batch}",
        f"paths.data_dir={demo_data_dir()}",
        f"trainer.accelerator={'gpu' if plan.cuda else 'cpu'}",
        f"trainer.max_steps={steps}",
        f"optim.milestones=[{steps}]",
        f"data.steps_per_epoch={steps}",  # one validation and one checkpoint, at the end
    ]


def ddp_sweep(plan: Plan, work: Path) -> dict[str, Any]:
    """Two jobs (seeds 0, 1), each a DDP world over every visible GPU (NCCL); one gloo process on a CPU."""
    devices = torch.cuda.device_count() if plan.cuda else 1
    sweep_dir = work / "ddp_sweep"
    args = ["seed=0,1", "model=edsr_demo", "trainer=ddp", f"trainer.devices={devices}", "logger=wandb"]
    # The global batch must divide by the devices: plan.batch on each.
    job = [*_job_args(plan, plan.sweep_steps, plan.batch * devices), f"data.patch_size={plan.patch}"]
    seconds = _sweep(sweep_dir, [*args, *job], timeout=900)
    jobs = []
    for job in walk_jobs(sweep_dir):
        res = read_results(job.results) if job.results.is_file() else {}
        jobs.append(
            {
                "job": job.path.name,
                "status": res.get("status"),
                "world_size": res.get("world_size"),
                "precision": res.get("precision"),
                "steps": (res.get("train") or {}).get("steps"),
                "wandb_offline_runs": len(list(RunDir(job.path).wandb.glob("offline-run-*"))),
            }
        )
    ok = len(jobs) == 2 and all(
        j["status"] == "finished" and j["world_size"] == devices and j["wandb_offline_runs"] >= 1 for j in jobs
    )
    return {
        "passed": ok,
        "backend": "nccl" if plan.cuda else skipped("NCCL needs CUDA devices; ran the DDP strategy with gloo"),
        "devices_per_job": devices,
        "seconds": seconds,
        "jobs": jobs,
        "command": f"python -m src.train -m {' '.join(args)} (demo data; W&B offline)",
    }


def _share_sweep(plan: Plan, work: Path, model: str, k: int) -> dict[str, Any]:
    overrides = dict(plan.share_models[model])
    steps = SHARE_STEPS[model] if plan.cuda else plan.sweep_steps
    sweep_dir = work / f"shared_{model}_k{k}"
    args = [
        f"seed={','.join(str(s) for s in range(k))}",
        f"model={model}",
        "hydra/launcher=gpu_shared",
        f"hydra.callbacks.gpu_share.jobs_per_gpu={k}",
        "logger=none",
        *[f"{key}={value}" for key, value in overrides.items()],
    ]
    seconds = _sweep(sweep_dir, [*args, *_job_args(plan, steps, plan.batch)], timeout=900)
    results = [read_results(job.results) for job in walk_jobs(sweep_dir) if job.results.is_file()]
    images = sum(r["train"]["steps"] * r["batch"]["global"] for r in results)
    return {
        "jobs": len(results),
        "finished": sum(r["status"] == "finished" for r in results),
        "total_images_per_s": sum(r["train"]["samples_per_second"] for r in results),
        "per_job_images_per_s": [r["train"]["samples_per_second"] for r in results],
        "images_per_wall_s": images / seconds,
        "wall_seconds": seconds,
        "steps_per_job": steps,
        "overrides": overrides,
    }


def share_sweeps(plan: Plan, work: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in ALL_MODELS:
        out[model] = {}
        for k in ALL_KS:
            if model not in plan.share_models or k not in plan.share_ks:
                out[model][f"k{k}"] = skipped(
                    "k jobs sharing one GPU only make sense on CUDA; the CPU path runs k = 2 of a tiny network"
                )
                continue
            out[model][f"k{k}"] = _share_sweep(plan, work, model, k)
        base = out[model].get("k1", {}).get("total_images_per_s")
        for res in out[model].values():
            if base and "total_images_per_s" in res:
                res["speedup_vs_k1"] = res["total_images_per_s"] / base
    return out


def run(plan: Plan, work: Path) -> dict[str, Any]:
    if plan.cuda:
        torch.cuda.empty_cache()  # this process's cached blocks from the other sections, for the sweeps' jobs
    ddp = ddp_sweep(plan, work)
    shared = share_sweeps(plan, work)
    ran = [r for m in shared.values() for r in m.values() if "jobs" in r]
    shared_ok = all(r["finished"] == r["jobs"] and r["jobs"] > 0 for r in ran)
    lines = [
        f"{m} k={k[1:]}: {r['total_images_per_s']:.0f} img/s"
        for m, ks in shared.items()
        for k, r in ks.items()
        if "jobs" in r
    ]
    return {
        "summary": f"DDP sweep {'ok' if ddp['passed'] else 'FAILED'} ({ddp['devices_per_job']} device(s)/job); "
        + "; ".join(lines),
        "passed": ddp["passed"] and shared_ok,
        "ddp_sweep": ddp,
        "gpu_shared": shared,
        "images_per_s": {
            f"{m}_{k}": r["total_images_per_s"] for m, ks in shared.items() for k, r in ks.items() if "jobs" in r
        },
    }

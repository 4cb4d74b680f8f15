"""`make gpu-check`: the GPU path proven in one command (under 8 minutes on one H100/H200), with its figures.

    python -m benchmarks.gpu_check [--only fast_path speed eval sweeps] [--out PATH] [--results PATH]

Sections (one file each): fast_path (benchmarks/gpu_check_fast.py: every `fast.*` switch trains EDSR full x2
and tracks the fp32 eager loss curve), speed (gpu_check_speed.py: the project's training step against
EDSR-PyTorch's loop in fp32 and bf16, images/s and MFU), eval (gpu_check_eval.py: GPU = CPU per-image PSNR/SSIM,
tiled and untiled; 2K peak memory), sweeps (gpu_check_sweeps.py: a `-m` DDP sweep with W&B offline, and k = 1,
2, 4 jobs per GPU). Sizes come from benchmarks/gpu_check_plan.py.

On CUDA it writes benchmarks/gpu_check.json and merges a `gpu_check` entry and its figures into
benchmarks/results.json. Without CUDA it runs the same logic at tiny sizes, says "GPU figures not measured (no
CUDA device)", writes outputs/gpu_check/gpu_check.json and leaves the benchmark records alone. Exit 0 when
every section ran and passed its checks, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from benchmarks.common import PROJECT_ROOT, machine, now

HERE = Path(__file__).resolve().parent
GPU_RECORD, RESULTS = HERE / "gpu_check.json", HERE / "results.json"
CPU_RECORD = PROJECT_ROOT / "outputs" / "gpu_check" / "gpu_check.json"
SECTIONS = ("fast_path", "speed", "eval", "sweeps")
# (section, key, target) as benchmarks/run.py's figures.
FIGURES = (
    ("fast_path", "max_curve_gap", "<= 0.03"),
    ("speed", "speed_vs_edsr_pytorch_fp32", None),
    ("speed", "speed_vs_edsr_pytorch_bf16", None),
    ("speed", "project_mfu", None),
    ("eval", "max_psnr_diff_db", "<= 0.0001"),
    ("eval", "tiled_peak_mem_ratio", "<= 0.5"),
)


@contextmanager
def workspace() -> Iterator[Path]:
    """A temporary folder for data roots, decoded caches and sweep outputs, gone afterwards."""
    previous = os.environ.get("SR_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        os.environ["SR_CACHE_DIR"] = str(Path(tmp) / "cache")
        try:
            yield Path(tmp)
        finally:
            if previous is None:
                os.environ.pop("SR_CACHE_DIR", None)
            else:
                os.environ["SR_CACHE_DIR"] = previous


def _section_runners(plan: Any, work: Path) -> dict[str, Callable[[], dict[str, Any]]]:
    from benchmarks import gpu_check_eval, gpu_check_fast, gpu_check_speed, gpu_check_sweeps
    from benchmarks.data_root import small_train_root
    from benchmarks.gpu_check_plan import with_settings
    from benchmarks.train_speed import compose_config

    @functools.cache
    def project_cfg() -> DictConfig:  # built on first use: the sweeps alone do not need it
        root = small_train_root(work / "data", limit=None if plan.cuda else 3)
        cfg = compose_config(root, work / "out", plan.patch, plan.batch, plan.curve_steps, baseline=False)
        net = {f"model.net.{k}": v for k, v in plan.net.items()}
        device = {"trainer.accelerator": "gpu" if plan.cuda else "cpu", "data.num_workers": 4 if plan.cuda else 0}
        edsr_optim = {"optim.lr": 1e-4, "optim.milestones": [200_000]}  # EDSR's, not experiment=smoke's 1e-3
        return with_settings(cfg, {**net, **device, **edsr_optim})

    return {
        "fast_path": lambda: gpu_check_fast.run(plan, project_cfg()),
        "speed": lambda: gpu_check_speed.run(plan, project_cfg()),
        "eval": lambda: gpu_check_eval.run(plan),
        "sweeps": lambda: gpu_check_sweeps.run(plan, work),
    }


def run_sections(names: list[str], cuda: bool) -> dict[str, dict[str, Any]]:
    from benchmarks.gpu_check_plan import make_plan
    from src.runtime.progress import quiet_lightning_console

    plan = make_plan(cuda)
    out: dict[str, dict[str, Any]] = {}
    for name in ("lightning.pytorch", "lightning.pytorch.utilities.rank_zero"):  # a Trainer per run: no banners
        logging.getLogger(name).setLevel(logging.WARNING)
    with workspace() as work, warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        quiet_lightning_console()
        runners = _section_runners(plan, work)
        for name in names:
            print(f"[gpu-check] {name} ...", flush=True)
            t0 = time.perf_counter()
            try:
                out[name] = runners[name]()
            except Exception as err:
                traceback.print_exc()
                out[name] = {"error": f"{type(err).__name__}: {err}", "summary": f"ERROR {type(err).__name__}"}
            out[name]["seconds"] = time.perf_counter() - t0
            print(f"[gpu-check] {name}: {out[name]['summary']} ({out[name]['seconds']:.0f} s)", flush=True)
    return out


def figures(sections: dict[str, dict[str, Any]]) -> dict[str, Any]:
    from benchmarks.run import Figure

    out = {}
    for section, key, target in FIGURES:
        if key in sections.get(section, {}):
            value = sections[section][key]
            out[f"gpu_{key}"] = {"value": value, "target": target, "met": Figure(section, key, target).met(value)}
    for key, value in sections.get("sweeps", {}).get("images_per_s", {}).items():
        out[f"gpu_shared_{key}_images_per_s"] = {"value": value, "target": None, "met": None}
    return out


def record(sections: dict[str, dict[str, Any]], cuda: bool, wall: float) -> dict[str, Any]:
    import torch

    from benchmarks.gpu_check_plan import NOT_MEASURED, make_plan

    return {
        "date": now(),
        "measured": cuda,
        "note": None if cuda else NOT_MEASURED,
        "device": torch.cuda.get_device_name() if cuda else f"CPU: {machine()['cpu']}",
        "gpus": torch.cuda.device_count() if cuda else 0,
        "machine": machine(),
        "cuda": torch.version.cuda,
        "wall_seconds": wall,
        "passed": all("error" not in s and s.get("passed", True) for s in sections.values()),
        "plan": asdict(make_plan(cuda)),
        "figures": figures(sections),
        "sections": sections,
    }


def merge_into_results(entry: dict[str, Any], path: Path) -> None:
    """benchmarks/results.json keeps the CPU benchmarks; the GPU check goes beside them, as `--only` merges."""
    results = json.loads(path.read_text()) if path.is_file() else {"benchmarks": {}, "figures": {}}
    results.setdefault("benchmarks", {})["gpu_check"] = entry
    results.setdefault("figures", {}).update(entry["figures"])
    path.write_text(json.dumps(results, indent=2, default=float) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SECTIONS, metavar="SECTION", help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, help=f"the record (default {GPU_RECORD.name}; on a CPU {CPU_RECORD})")
    parser.add_argument("--results", type=Path, help=f"merged into on CUDA (default {RESULTS.name})")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see benchmarks/run.py
    import torch

    cuda = torch.cuda.is_available()
    if not cuda:
        print("[gpu-check] GPU figures not measured (no CUDA device): running the same logic on the CPU, tiny sizes")
    t0 = time.perf_counter()
    sections = run_sections(list(args.only or SECTIONS), cuda)
    rec = record(sections, cuda, time.perf_counter() - t0)
    out = args.out or (GPU_RECORD if cuda else CPU_RECORD)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=2, default=float) + "\n")
    print(f"\n{rec['device']}: {'all checks passed' if rec['passed'] else 'FAILED'} in {rec['wall_seconds']:.0f} s")
    for name, fig in rec["figures"].items():
        value = f"{fig['value']:.4g}" if isinstance(fig["value"], float) else str(fig["value"])
        print(f"  {name:42s} {value:>10}  target {fig['target'] or '-'}")
    print(f"wrote {out}")
    if cuda:
        merge_into_results(rec, args.results or RESULTS)
        print(f"merged into {args.results or RESULTS}")
    else:
        print("GPU figures not measured (no CUDA device); benchmarks/results.json left as it was")
    return 0 if rec["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

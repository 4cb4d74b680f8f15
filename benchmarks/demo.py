"""`demo_sweep_seconds`: wall time of the demo sweep (5 activations x 2 scales x 4 seeds, `experiment=demo`).

The sweep takes minutes, longer than the rest of `make bench` together, so by default the figure is the one
recorded by the latest `make demo`; `python -m benchmarks.run --demo` runs the sweep itself and records it.

The record is a JSON file named `demo_seconds.json` anywhere under `multirun/` (the sweep's own directory is
the natural place), holding at least `{"seconds": <float, wall time of the whole sweep command>}` and
preferably also `"command"` (str), `"jobs"` (int), `"finished"` (ISO 8601 time) and `"machine"` (dict). The
newest file by `finished` (else by modification time) is the one reported.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.common import PROJECT_ROOT, machine, now

RECORD = "demo_seconds.json"
# The Makefile's DEMO_AXES (tests/test_demo.py checks they agree), swept at x2 and then at x4: each x4 job starts
# from the finished x2 job of its activation and seed.
SWEEP_AXES = ("seed=0,1,2,3", "activation=relu,lrelu,swish,mish,identity", "experiment=demo")
SCALES = (2, 4)


def _relative(path: Path) -> str:
    """`path` as written in a record or summary: relative to the project root when inside it (records travel)."""
    try:
        return str(Path(path).resolve().relative_to(PROJECT_ROOT.resolve()))
    except ValueError:
        return str(path)


def _finished(path: Path, record: dict[str, Any]) -> float:
    try:
        return datetime.datetime.fromisoformat(str(record["finished"])).timestamp()
    except (KeyError, ValueError, TypeError):
        return path.stat().st_mtime


def latest_record(multirun: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest readable demo record under `multirun`, or None."""
    found = []
    for path in Path(multirun).rglob(RECORD) if Path(multirun).is_dir() else []:
        try:
            record = json.loads(path.read_text())
            seconds = float(record["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        found.append((_finished(path, record), path, {**record, "seconds": seconds}))
    if not found:
        return None
    _, path, record = max(found, key=lambda item: item[0])
    return path, record


def run_sweep(multirun: Path) -> tuple[Path, dict[str, Any]]:
    """Run the demo sweep into a fresh sweep directory (so no job is skipped as done), timed; record it."""
    sweep_dir = Path(multirun) / f"demo-bench-{time.strftime('%Y%m%d-%H%M%S')}"
    # One thread per job: the demo's launcher runs a job per core.
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    for scale in SCALES:
        cmd = [sys.executable, "-m", "src.train", "-m", f"scale={scale}", *SWEEP_AXES, f"hydra.sweep.dir={sweep_dir}"]
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"the demo sweep failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    elapsed = time.perf_counter() - t0
    record = {
        "seconds": elapsed,
        "command": "python -m src.train -m scale=2|4 " + " ".join(SWEEP_AXES),
        "jobs": len(list(sweep_dir.glob("*/results.json"))),
        "finished": now(),
        "machine": machine(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    sweep_dir.mkdir(parents=True, exist_ok=True)
    path = sweep_dir / RECORD
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path, record


def bench(quick: bool = False, run: bool = False, multirun: Path | None = None) -> dict[str, Any]:
    multirun = Path(multirun) if multirun is not None else PROJECT_ROOT / "multirun"
    if run and not quick:
        path, record = run_sweep(multirun)
        source = "measured by this benchmark run"
    else:
        found = latest_record(multirun)
        if found is None:
            where = _relative(multirun)
            return {
                "summary": f"not measured: no {RECORD} yet",
                "demo_sweep_seconds": None,
                "source": f"not measured: no {RECORD} under {where} (run `make demo`, or benchmarks.run --demo)",
            }
        path, record = found
        source = f"read from the latest record ({record.get('finished', 'time unknown')}), not measured in this run"
    return {
        "summary": f"{source} ({_relative(path)})",
        "demo_sweep_seconds": record["seconds"],
        "source": source,
        "record": _relative(path),
        "command": record.get("command"),
        "jobs": record.get("jobs"),
        "machine": record.get("machine"),
    }

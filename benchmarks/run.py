"""`make bench`: every CPU benchmark, a table of ratios, and `benchmarks/results.json`.

    python -m benchmarks.run [--quick] [--only NAME ...] [--demo] [--out PATH]

Each figure is a median over interleaved A/B runs (see benchmarks/common.py). `--quick` runs everything on
tiny inputs (for tests; its figures mean nothing) and writes a file only when `--out` is given. `--only`
merges the new entries into the existing results file. `--demo` also runs the ~8-minute demo sweep.
"""

from __future__ import annotations

import argparse
import importlib
import json
import operator
import os
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results.json"
BENCHMARKS = ("train_speed", "patches", "resize", "metric_speed", "tiled", "demo")


@dataclass(frozen=True)
class Figure:
    bench: str
    key: str
    target: str | None = None  # e.g. ">= 0.95"

    def met(self, value: float | None) -> bool | None:
        if self.target is None or value is None:
            return None
        op, bound = self.target.split()
        compare: Callable[[float, float], bool] = {">=": operator.ge, "<=": operator.le}[op]
        return compare(value, float(bound))


FIGURES = (
    Figure("train_speed", "train_speed_vs_bare", ">= 0.95"),
    Figure("patches", "patches_speed_vs_png", ">= 20"),
    Figure("patches", "patches_speed_vs_png_workers2", ">= 20"),
    Figure("resize", "resize_speed_vs_numpy", ">= 1"),
    Figure("metric_speed", "metric_speed_vs_skimage"),
    Figure("tiled", "tiled_peak_mem_ratio", "<= 0.5"),
    Figure("tiled", "tiled_max_abs_diff", "<= 1"),
    Figure("tiled", "tiled_time_ratio"),
    Figure("demo", "demo_sweep_seconds"),
)


def run_one(name: str, quick: bool, demo: bool) -> dict[str, Any]:
    from benchmarks.common import load_average, now

    module = importlib.import_module(f"benchmarks.{name}")
    kwargs = {"run": demo} if name == "demo" else {}
    started, load = now(), load_average()
    t0 = time.perf_counter()
    try:
        result = module.bench(quick=quick, **kwargs)
    except Exception as err:
        traceback.print_exc()
        result = {"error": f"{type(err).__name__}: {err}", "summary": f"ERROR {type(err).__name__}: {err}"}
    result.update(seconds=time.perf_counter() - t0, date=started, load_average_at_start=load)
    return result


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(benchmarks: dict[str, dict[str, Any]]) -> str:
    rows = [("figure", "value", "target", "met", "details")]
    shown: set[str] = set()
    for fig in FIGURES:
        res = benchmarks.get(fig.bench)
        if res is None:
            continue
        value = res.get(fig.key)
        met = fig.met(value)
        details = "" if fig.bench in shown else str(res.get("summary", ""))
        shown.add(fig.bench)
        rows.append((fig.key, _format(value), fig.target or "-", {None: "", True: "yes", False: "NO"}[met], details))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4] for r in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def _figures(benchmarks: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out = {}
    for fig in FIGURES:
        if fig.bench in benchmarks and fig.key in benchmarks[fig.bench]:
            value = benchmarks[fig.bench][fig.key]
            out[fig.key] = {"value": value, "target": fig.target, "met": fig.met(value)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU benchmarks of the project (ratios of interleaved A/B runs).")
    parser.add_argument("--quick", action="store_true", help="tiny inputs (tests); figures mean nothing")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, metavar="NAME", help=f"any of {', '.join(BENCHMARKS)}")
    parser.add_argument("--demo", action="store_true", help="run the demo sweep (~8 min) instead of reading its record")
    parser.add_argument("--out", type=Path, help=f"results file (default {RESULTS}; none with --quick)")
    args = parser.parse_args(argv)

    # PyTorch's OpenMP threads spin while they wait for each other; when other processes share the cores a
    # descheduled thread stalls the rest, and a training step takes 10-100x longer at random. Waiting
    # passively keeps both sides of every ratio measurable on a shared machine. It must be set before torch
    # loads, hence here and not in the benchmark modules.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from benchmarks.common import load_average, machine, now

    t0 = time.perf_counter()
    start_load = load_average()
    names = args.only or list(BENCHMARKS)
    benchmarks = {}
    for name in names:
        print(f"[bench] {name} ...", flush=True)
        benchmarks[name] = run_one(name, args.quick, args.demo)
        res = benchmarks[name]
        print(f"[bench] {name}: {res.get('summary', '')} ({res['seconds']:.0f} s)", flush=True)
    out_path = args.out or (None if args.quick else RESULTS)
    if args.only and out_path is not None and out_path.is_file():
        previous = json.loads(out_path.read_text()).get("benchmarks", {})
        benchmarks = {**{k: v for k, v in previous.items() if k not in benchmarks}, **benchmarks}
    record = {
        "date": now(),
        "machine": machine(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "load_average": {"start": start_load, "end": load_average()},
        "wall_seconds": time.perf_counter() - t0,
        "quick": args.quick,
        "ran": names,
        "figures": _figures(benchmarks),
        "benchmarks": benchmarks,
    }
    print()
    print(table(benchmarks))
    box = record["machine"]
    print(
        f"\n{box['cpu']}, {box['cores']} cores, torch {box['torch']} ({box['torch_threads']} threads); "
        f"load average {start_load} -> {record['load_average']['end']}; {record['wall_seconds']:.0f} s"
    )
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(record, indent=2, default=float) + "\n")
        print(f"wrote {out_path}")
    return 1 if any("error" in benchmarks[n] for n in names) else 0


if __name__ == "__main__":
    sys.exit(main())

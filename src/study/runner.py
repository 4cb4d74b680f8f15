"""The study's looks: launch the runs the next look needs through src.train, decide, record, stop when answered.

Each look runs `python -m src.train -m <overrides> <factor>=<open levels + reference> scale=<s> seed=<new seeds>`
into the study's folder, so the jobs go through the launcher the overrides choose (local, joblib, SLURM) and
resume, skip and lock as any sweep's. Job folders are named by scale, level and seed, so rerunning a look's
sweep finds its finished jobs and skips them. With `init_from: x2` the x2 sweep runs first.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from src.contracts.errors import UserError
from src.report.decisions import UNDECIDED
from src.study.config import CONF_DIR
from src.study.decide import decide, tests_of
from src.study.endpoint import finished_jobs, primary_differences
from src.study.schedule import next_sweeps, runs_of
from src.study.state import Study, StudyFolder

# argv after `python` -> exit status.
Launch = Callable[[list[str]], int]


def subprocess_launch(argv: list[str]) -> int:
    print("study: python " + " ".join(argv), flush=True)
    return subprocess.run([sys.executable, *argv], check=False).returncode


def _level_in_path(factor: str) -> str:
    """How a job folder names its level: the config group's option (`lrelu_0.1`) or the key's value."""
    if (CONF_DIR / factor.replace(".", "/")).is_dir():
        return f"${{hydra:runtime.choices.{factor.replace('.', '/')}}}"
    return f"${{{factor}}}"


def train_argv(study: Study, folder: StudyFolder, scale: int, levels: Sequence[str], seeds: Sequence[int]) -> list[str]:
    return [
        "-m",
        "src.train",
        "-m",
        *study.overrides,
        f"{study.factor}={','.join(levels)}",
        f"scale={scale}",
        f"seed={','.join(map(str, seeds))}",
        f"hydra.sweep.dir={folder.sweep}",
        f"hydra.sweep.subdir=x${{scale}}-{_level_in_path(study.factor)}-s${{seed}}",
    ]


def open_comparisons(study: Study, looks: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """bool (S, V): comparisons no look has decided yet."""
    open_ = np.ones((len(study.scales), len(study.levels)), dtype=bool)
    for record in looks:
        for c in record["comparisons"]:
            if c["verdict"] != UNDECIDED:
                open_[study.scales.index(c["scale"]), study.levels.index(c["level"])] = False
    return open_


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _launch_look(study: Study, folder: StudyFolder, open_: np.ndarray, seeds: list[int], launch: Launch) -> list:
    swept, mask = next_sweeps(open_, study.scales, study.x2_first)
    sweeps = []
    for scale, row in zip(swept, mask, strict=True):
        levels = [lv for lv, run in zip((study.reference, *study.levels), row, strict=True) if run]
        if not levels:
            continue
        status = launch(train_argv(study, folder, scale, levels, seeds))
        if status != 0:
            raise UserError(
                f"the x{scale} sweep of this look failed (exit {status}); fix what its log says and rerun the same "
                "command: finished jobs are kept and the look resumes"
            )
        sweeps.append({"scale": scale, "levels": levels, "seeds": seeds})
    return sweeps, int(runs_of(mask, len(seeds)))


def run_look(study: Study, folder: StudyFolder, look: int, keys: Mapping[str, str], launch: Launch) -> dict:
    """Launch look `look` (1-based) for the comparisons still open, decide them, record the look."""
    looks = folder.looks()
    open_ = open_comparisons(study, looks)
    before = study.design.looks[look - 2] if look > 1 else 0
    n = study.design.looks[look - 1]
    seeds = list(range(before, n))
    sweeps, runs = _launch_look(study, folder, open_, seeds, launch)
    jobs = finished_jobs(folder.sweep, study.factor)
    pairs = [(s, v) for s in study.scales for v in study.levels if open_[study.scales.index(s), study.levels.index(v)]]
    diffs = [primary_differences(jobs, study.factor, keys[v], keys[study.reference], s, range(n)) for s, v in pairs]
    tests = tests_of([list(d.values()) for d in diffs], study.design.margin)
    alpha_d, alpha_e = folder.nominal_levels()[look - 1]
    verdicts = decide(tests, alpha_d, alpha_e)
    comparisons = [
        {
            "scale": s,
            "level": v,
            "n": int(tests.n[i]),
            "missing_seeds": [seed for seed in range(n) if seed not in diffs[i]],
            "mean": _finite(tests.mean[i]),
            "p_difference": _finite(tests.p_difference[i]),
            "p_equivalence": _finite(tests.p_equivalence[i]),
            "verdict": str(verdicts[i]),
        }
        for i, (s, v) in enumerate(pairs)
    ]
    record = {"look": look, "seeds": n, "new_seeds": seeds, "sweeps": sweeps, "runs": runs}
    record |= {"alpha_difference": alpha_d, "alpha_equivalence": alpha_e, "comparisons": comparisons}
    folder.write_look(record)
    return record


def run_study(study: Study, folder: StudyFolder, keys: Mapping[str, str], launch: Launch) -> list[dict]:
    """Every look still to run, until every comparison is decided or the last look is done."""
    looks = folder.looks()
    for look in range(len(looks) + 1, len(study.design.looks) + 1):
        if not open_comparisons(study, looks).any():
            break
        record = run_look(study, folder, look, keys, launch)
        looks.append(record)
        decided = ", ".join(f"x{c['scale']} {c['level']}: {c['verdict']}" for c in record["comparisons"])
        print(f"study: look {look} ({record['seeds']} seeds, {record['runs']} runs): {decided}", flush=True)
    return looks

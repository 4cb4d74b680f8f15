"""`python -m src.study <src.train overrides> study.looks=[3,5,8] study.margin=0.05 hydra.sweep.dir=DIR`.

Runs a sequential study in looks (README: "Studies that stop when answered"): `study.*` overrides compose
conf/study.yaml (the design); `hydra.sweep.dir` is the study's folder (required: rerunning the same command into
it resumes the study); every other override goes to each look's `python -m src.train -m` as given.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from src.contracts.errors import UserError, user_errors_exit
from src.study.config import level_keys, study_section
from src.study.design import Design
from src.study.runner import Launch, run_study, subprocess_launch
from src.study.state import Study, StudyFolder
from src.study.table import render

USAGE = (
    "usage: python -m src.study [src.train overrides] [study.levels=[lrelu,swish] study.scales=[2,4] "
    "study.looks=[3,5,8] study.margin=0.05 study.alpha=0.05 study.spending=obf] hydra.sweep.dir=DIR"
)


def _key(override: str) -> str:
    return override.lstrip("+~").split("=", 1)[0]


def split(argv: list[str]) -> tuple[list[str], Path, list[str]]:
    """(study.* overrides, the study's folder, the overrides src.train gets)."""
    study, passthrough, folder = [], [], None
    for arg in argv:
        if arg.startswith("-") or "=" not in arg:
            raise UserError(f"{arg}: src.study takes key=value overrides only ({USAGE})")
        key = _key(arg)
        if key.startswith("study."):
            study.append(arg)
        elif key == "hydra.sweep.dir":
            folder = Path(arg.split("=", 1)[1]).expanduser().resolve()
        else:
            passthrough.append(arg)
    if folder is None:
        raise UserError("name the study's folder: hydra.sweep.dir=multirun/study/<name> (rerunning resumes it)")
    return study, folder, passthrough


def build_study(study_overrides: list[str], passthrough: list[str]) -> tuple[Study, dict[str, str]]:
    spec = study_section(study_overrides)
    factor = str(spec["factor"])
    owned = {"seed", "scale", factor, "hydra.sweep.subdir"}
    taken = [o for o in passthrough if _key(o) in owned]
    if taken:
        raise UserError(
            f"{taken[0]}: the study sets {factor}, scale and seed itself; use study.levels, study.scales, study.looks"
        )
    reference = str(spec["reference"])
    levels = tuple(str(v) for v in spec["levels"] if str(v) != reference)
    scales = tuple(sorted({int(s) for s in spec["scales"]}))
    if not scales:
        raise UserError("study.scales is empty: give the scales to compare at, e.g. study.scales=[2,4]")
    design = Design(
        tuple(spec["looks"]), float(spec["margin"]), float(spec["alpha"]), len(levels) * len(scales), spec["spending"]
    )
    keys, cfg = level_keys(factor, (reference, *levels), passthrough)
    x2_first = str(cfg.get("init_from")) == "x2"
    return Study(design, factor, reference, levels, scales, tuple(passthrough), x2_first), keys


@user_errors_exit
def main(argv: list[str] | None = None, launch: Launch = subprocess_launch) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(USAGE + "\n\n" + (__doc__ or ""))
        return 0
    study_overrides, sweep, passthrough = split(argv)
    study, keys = build_study(study_overrides, passthrough)
    folder = StudyFolder(sweep)
    folder.open(study, "python -m src.study " + shlex.join(argv))
    looks = run_study(study, folder, keys, launch)
    text = render(study, looks, str(sweep))
    folder.write_table(text)
    print(text, end="")
    print(f"study: the design and each look's verdicts are in {folder.path}", flush=True)
    return 0

"""The study's final table: the design, then each comparison's verdict and the look that decided it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from src.report.decisions import UNDECIDED
from src.study.state import Study


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def final_rows(study: Study, looks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each comparison's last record (the look that decided it, or the last look run) with that look's number."""
    last: dict[tuple[int, str], dict[str, Any]] = {}
    for record in looks:
        for c in record["comparisons"]:
            last[(c["scale"], c["level"])] = {**c, "look": record["look"], "seeds": record["seeds"]}
    return [last[(s, v)] for s in study.scales for v in study.levels if (s, v) in last]


def render(study: Study, looks: Sequence[Mapping[str, Any]], sweep: str) -> str:
    design = study.design
    runs = sum(r["runs"] for r in looks)
    swept = len(study.scales) + (1 if study.x2_first and 2 not in study.scales else 0)
    fixed = design.looks[-1] * (len(study.levels) + 1) * swept
    rows = final_rows(study, looks)
    open_ = sum(r["verdict"] == UNDECIDED for r in rows)
    done = len(looks) == len(design.looks) or not open_
    state = "stopped" if done else "in progress"
    lines = [
        f"# Study {sweep}: {study.factor} vs {study.reference}",
        "",
        f"Design (declared before the first run): {design.describe()}. Each comparison: per seed, the mean over "
        f"the test sets of ΔY-PSNR vs {study.reference} of the same seed; paired t over seeds for the difference, "
        "TOST against the margin for equivalence.",
        "",
        "| Scale | Level | Verdict | Decided at look (seeds) | Δ mean (dB) | p difference | p equivalence | "
        "levels at that look (difference / equivalence) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_look = {r["look"]: r for r in looks}
    for row in rows:
        at = "not decided" if row["verdict"] == UNDECIDED else f"{row['look']} ({row['seeds']})"
        look = by_look[row["look"]]
        n = f" n={row['n']}" if row["n"] != row["seeds"] else ""
        lines.append(
            f"| x{row['scale']} | {row['level']} | {row['verdict']}{n} | {at} | {_number(row['mean'], '+.3f')} | "
            f"{_number(row['p_difference'], '.2g')} | {_number(row['p_equivalence'], '.2g')} | "
            f"{look['alpha_difference']:.2g} / {look['alpha_equivalence']:.2g} |"
        )
    lines += [
        "",
        f"{state.capitalize()} after look {len(looks)} of {len(design.looks)}: {len(rows) - open_} of {len(rows)} "
        f"comparisons decided; {runs} runs, against {fixed} for the fixed design with the same maximum "
        f"({design.looks[-1]} seeds x {len(study.levels) + 1} levels x {swept} scale sweeps).",
    ]
    return "\n".join(lines) + "\n"

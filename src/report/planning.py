"""`--plan EFFECT`: how many seeds per activation a sweep needs to detect EFFECT dB at 80% power.

The spread is the one a sweep (or a pilot sweep) showed: the seed-to-seed SD of the per-seed ΔPSNR vs ReLU,
pooled over the comparisons of a model and scale (they share the run-to-run noise of one training setup).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from src.report.stats import seeds_needed
from src.report.summary import REFERENCE, Section, Summary
from src.report.tables import display_name, markdown_table

POWER = 0.8
ALPHA = 0.05


@dataclass(frozen=True)
class Plan:
    model: str
    scale: int
    endpoint: str
    sd: float
    df: int
    seeds: int
    # Holm's first step tests the smallest p at ALPHA / m: seeds needed for a finding to survive the table's family.
    family: int
    seeds_family: int


def pooled_sd(samples: Sequence[tuple[int, float]]) -> tuple[float, int]:
    """sqrt(sum (n_i - 1) sd_i^2 / sum (n_i - 1)) over (n_i, sd_i) with a spread, and its degrees of freedom."""
    usable = [(n, sd) for n, sd in samples if n >= 2 and math.isfinite(sd)]
    df = sum(n - 1 for n, _ in usable)
    if df == 0:
        return math.nan, 0
    return math.sqrt(sum((n - 1) * sd**2 for n, sd in usable) / df), df


def plans(summary: Summary, effect: float) -> list[Plan]:
    """Per model and scale: the primary endpoint per activation and pooled, and a per-set comparison pooled."""
    out = []
    for section in summary.sections:
        for scale in section.scales:
            out += _scale_plans(section, scale, effect)
    return out


def _scale_plans(section: Section, scale: int, effect: float) -> list[Plan]:
    primaries = {act: p.comparison for (s, act), p in section.primary.items() if s == scale}
    per_set = [c.psnr_vs_relu for (s, _, _), c in section.cells.items() if s == scale and c.psnr_vs_relu is not None]
    families = (len(primaries), len(per_set))
    rows = [(f"primary, {display_name(act)}", [c], families[0]) for act, c in primaries.items()]
    rows.append(("primary, pooled over activations", list(primaries.values()), families[0]))
    rows.append(("one set, pooled over sets and activations", per_set, families[1]))
    out = []
    for endpoint, comparisons, family in rows:
        sd, df = pooled_sd([(c.n, c.sd) for c in comparisons])
        if df == 0 or sd == 0:
            continue
        out.append(
            Plan(
                section.model,
                scale,
                endpoint,
                sd,
                df,
                seeds_needed(effect, sd, ALPHA, POWER),
                family,
                seeds_needed(effect, sd, ALPHA / max(family, 1), POWER),
            )
        )
    if not out:
        # A pilot of ReLU alone: the difference of two runs that shared nothing has sqrt(2) times their spread
        # (pairing by seed can only lower it when runs of one seed correlate).
        relu = [c for (s, _, a), c in section.cells.items() if (s, a) == (scale, REFERENCE)]
        sd, df = pooled_sd([(c.n_seeds, c.psnr_mean_std[1]) for c in relu])
        if df and sd > 0:
            sd *= math.sqrt(2.0)
            seeds = seeds_needed(effect, sd, ALPHA, POWER)
            endpoint = "one set, from ReLU's seed spread x sqrt(2) (no pairs yet)"
            out.append(Plan(section.model, scale, endpoint, sd, df, seeds, 1, seeds))
    return out


def plan_markdown(summary: Summary, effect: float) -> str:
    rows = plans(summary, effect)
    lines = [
        f"## Planning: seeds per activation to detect {effect:g} dB at {POWER:.0%} power",
        "",
        "SD: seed-to-seed SD of the per-seed ΔPSNR vs ReLU seen in these runs (pooled where it says so, with its "
        f"degrees of freedom df); seeds: paired seeds (each activation and ReLU run with the same seeds) for a "
        f"two-sided paired t-test at α = {ALPHA}, and at α / m, Holm's first step over the m comparisons of that "
        "family. An SD from few seeds is itself uncertain: treat the answer as an order of magnitude.",
        "",
    ]
    if not rows:
        return "\n".join([*lines, "No comparison has 2 or more paired seeds: no spread to plan from.", ""])
    header = ["Model", "Scale", "Endpoint", "SD (dB)", "df", f"seeds (α={ALPHA})", "seeds (α/m)"]
    body = [
        [
            p.model,
            f"x{p.scale}",
            p.endpoint,
            f"{p.sd:.4f}",
            str(p.df),
            _count(p.seeds),
            f"{_count(p.seeds_family)} (m={p.family})",
        ]
        for p in rows
    ]
    return "\n".join([*lines, markdown_table(header, body), ""])


def _count(seeds: int) -> str:
    return "> 1,000,000" if seeds < 0 else f"{seeds:,}"

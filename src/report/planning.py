"""`--plan EFFECT`: how many seeds per level a sweep needs to detect EFFECT dB at 80% power, for the test that
makes the table's star.

The star is Holm's adjustment over the section's primary endpoints (src/report/summary.py), so the plan uses
that family's size m and the level alpha / m at which a p-value is starred whatever the others' p-values. The
spread is the one the sweep (or a pilot) showed: the seed-to-seed SD of the per-seed primary ΔPSNR, pooled over
the section's comparisons at a scale. An SD from few seeds is itself uncertain and a plan from the point
estimate is optimistic (on 3 df, a plan for 80% power has about 66% on average), so the seeds are sized for
the 80% one-sided upper confidence limit of the SD (chi-square), and the table prints the power of that many
seeds when the SD is as estimated and when it is at that limit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from src.report.decisions import ALPHA
from src.report.factor import display_name
from src.report.stats import paired_t_power, seeds_needed
from src.report.summary import Section, Summary, family_size
from src.report.tables import markdown_table

POWER = 0.8
# The one-sided confidence level of the SD's upper limit that the plan is sized for.
SD_CONFIDENCE = 0.8


@dataclass(frozen=True)
class Plan:
    model: str
    scale: int
    endpoint: str
    sd: float
    df: int
    # Holm's family: the section's primary endpoints with a p-value (the table's stars).
    family: int
    seeds_estimate: int
    sd_upper: float
    seeds: int
    power_at_estimate: float
    power_at_upper: float


def pooled_sd(samples: Sequence[tuple[int, float]]) -> tuple[float, int]:
    """sqrt(sum (n_i - 1) sd_i^2 / sum (n_i - 1)) over (n_i, sd_i) with a spread, and its degrees of freedom."""
    usable = [(n, sd) for n, sd in samples if n >= 2 and math.isfinite(sd)]
    df = sum(n - 1 for n, _ in usable)
    if df == 0:
        return math.nan, 0
    return math.sqrt(sum((n - 1) * sd**2 for n, sd in usable) / df), df


def sd_upper_limit(sd: float, df: int, confidence: float = SD_CONFIDENCE) -> float:
    """One-sided upper confidence limit of a normal SD estimated on `df` degrees of freedom."""
    from scipy import stats

    return sd * math.sqrt(df / float(stats.chi2.ppf(1.0 - confidence, df)))


def plan(model: str, scale: int, endpoint: str, sd: float, df: int, family: int, effect: float) -> Plan:
    alpha = ALPHA / max(family, 1)
    upper = sd_upper_limit(sd, df)
    seeds = seeds_needed(effect, upper, alpha, POWER)
    powers = [paired_t_power(effect, s, seeds, alpha) if seeds > 0 else math.nan for s in (sd, upper)]
    return Plan(model, scale, endpoint, sd, df, family, seeds_needed(effect, sd, alpha, POWER), upper, seeds, *powers)


def plans(summary: Summary, effect: float, family: int | None = None) -> list[Plan]:
    """Per section and scale: the primary endpoint per level and pooled over levels; a reference-only pilot
    plans from the reference's seed spread. `family` overrides m (the size of the planned sweep's family)."""
    out = []
    for section in summary.sections:
        m = family or family_size([p.comparison for p in section.primary.values()])
        for scale in section.scales:
            out += _scale_plans(section, scale, effect, m)
    return out


def _scale_plans(section: Section, scale: int, effect: float, m: int) -> list[Plan]:
    primaries = {act: p.comparison for (s, act), p in section.primary.items() if s == scale}
    rows = [(f"primary, {display_name(act)}", [c]) for act, c in primaries.items()]
    if len(primaries) > 1:
        rows.append(("primary, pooled over levels", list(primaries.values())))
    out = []
    for endpoint, comparisons in rows:
        sd, df = pooled_sd([(c.n, c.sd) for c in comparisons])
        if df and sd > 0:
            out.append(plan(section.title, scale, endpoint, sd, df, m, effect))
    if not out:
        # A pilot of the reference alone: the difference of two runs that shared nothing has sqrt(2) times their
        # spread (pairing by seed can only lower it when runs of one seed correlate). Without comparisons the
        # table has no family yet: one comparison per scale unless --family says how many the sweep will test.
        reference = [c for (s, _, a), c in section.cells.items() if (s, a) == (scale, section.reference)]
        sd, df = pooled_sd([(c.n_seeds, c.psnr_mean_std[1]) for c in reference])
        if df and sd > 0:
            endpoint = f"one set, from {display_name(section.reference)}'s seed spread x sqrt(2) (no pairs yet)"
            out.append(plan(section.title, scale, endpoint, sd * math.sqrt(2.0), df, m or len(section.scales), effect))
    return out


def plan_markdown(summary: Summary, effect: float, family: int | None = None) -> str:
    rows = plans(summary, effect, family)
    lines = [
        f"## Planning: seeds per level to detect {effect:g} dB at {POWER:.0%} power",
        "",
        "SD: seed-to-seed SD of the per-seed primary ΔPSNR seen in these runs (pooled where it says so), on df "
        f"degrees of freedom; m: Holm's family of the table's stars (its primary endpoints with a p-value), so a "
        f"two-sided paired t-test at α/m = {ALPHA}/m. Seeds (SD as estimated): enough only if the SD is what these "
        f"runs showed. SD UCL: the {SD_CONFIDENCE:.0%} one-sided upper confidence limit of the SD (chi-square on "
        "df); seeds (planned): enough at that limit; then the power those seeds have if the SD is as estimated and "
        "if it is at the limit. Run the planned seeds as a new sweep and report it alone: seeds added to a sweep "
        "after looking at its report make its p-values too small (the report warns when it sees that).",
        "",
    ]
    if not rows:
        return "\n".join([*lines, "No comparison has 2 or more paired seeds: no spread to plan from.", ""])
    header = ["Model", "Scale", "Endpoint", "SD (dB)", "df", "m", "seeds (SD as estimated)", "SD UCL (dB)"]
    header += ["seeds (planned)", "power at SD", "power at SD UCL"]
    body = [
        [
            p.model,
            f"x{p.scale}",
            p.endpoint,
            f"{p.sd:.4f}",
            str(p.df),
            str(p.family),
            _count(p.seeds_estimate),
            f"{p.sd_upper:.4f}",
            _count(p.seeds),
            _percent(p.power_at_estimate),
            _percent(p.power_at_upper),
        ]
        for p in rows
    ]
    return "\n".join([*lines, markdown_table(header, body), ""])


def _count(seeds: int) -> str:
    return "> 1,000,000" if seeds < 0 else f"{seeds:,}"


def _percent(value: float) -> str:
    return f"{value:.0%}" if math.isfinite(value) else "–"

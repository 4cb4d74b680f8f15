"""A design's operating characteristics before any GPU-hour: the whole study, simulated with its own code.

Each replicate draws run-level Y-PSNR for every (scale, level, seed): the reference and each level with noise of
SD sd/√2, so that the per-seed difference has SD `sd` and the comparisons of one scale share the reference's
noise as the real study's do (correlation 0.5). Each look then decides with `decide.decide` at the design's
nominal levels, and the next look runs what `schedule.next_sweeps` says, exactly as `src.study` does. The fixed
design with the same maximum number of seeds is the same code with one look.

    python -m src.study.simulate --looks 3,5,8 --margin 0.05 --sd 0.03 --comparisons 8 --effect 0.1
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from src.contracts.errors import UserError, user_errors_exit
from src.report.decisions import BETTER, EQUIVALENT, UNDECIDED, WORSE
from src.study.decide import decide, paired_tests_many
from src.study.design import Design
from src.study.schedule import next_sweeps, runs_of


@dataclass(frozen=True)
class Outcome:
    """Per replicate: each comparison's final verdict (R, S, V), the look that decided it (0: none), runs."""

    verdicts: np.ndarray
    decided_at: np.ndarray
    runs: np.ndarray


def draw(effects: np.ndarray, sd: float, seeds: int, replicates: int, rng: np.random.Generator) -> np.ndarray:
    """Per-seed differences (R, S, V, seeds) for true differences `effects` (S, V), the reference shared."""
    scales, levels = effects.shape
    runs = rng.standard_normal((replicates, scales, levels + 1, seeds)) * (sd / math.sqrt(2.0))
    return runs[:, :, 1:, :] - runs[:, :, :1, :] + effects[None, :, :, None]


def run_procedure(design: Design, diffs: np.ndarray, scales: Sequence[int], x2_first: bool) -> Outcome:
    """The study's looks over simulated differences (R, S, V, n_max)."""
    replicates = diffs.shape[0]
    verdicts = np.full(diffs.shape[:-1], UNDECIDED, dtype=object)
    decided_at = np.zeros(diffs.shape[:-1], dtype=int)
    runs = np.zeros(replicates, dtype=int)
    before = 0
    for look, ((alpha_d, alpha_e), n) in enumerate(zip(design.levels(), design.looks, strict=True), start=1):
        open_ = verdicts == UNDECIDED
        if not open_.any():
            break
        _, mask = next_sweeps(open_, scales, x2_first)
        runs += runs_of(mask, n - before)
        before = n
        tests = paired_tests_many(diffs[open_][:, :n], design.margin)
        verdicts[open_] = decide(tests, alpha_d, alpha_e)
        decided_at[open_ & (verdicts != UNDECIDED)] = look
    return Outcome(verdicts, decided_at, runs)


def simulate(
    design: Design,
    sd: float,
    effect: float,
    scales: Sequence[int],
    x2_first: bool = False,
    replicates: int = 20_000,
    seed: int = 0,
) -> Outcome:
    """The whole study `replicates` times with every non-reference level truly `effect` dB from the reference."""
    levels, rest = divmod(design.comparisons, len(scales))
    if rest:
        raise UserError(f"{design.comparisons} comparisons do not split over {len(scales)} scales; give a multiple")
    effects = np.full((len(scales), levels), float(effect))
    diffs = draw(effects, sd, design.looks[-1], replicates, np.random.default_rng(seed))
    return run_procedure(design, diffs, scales, x2_first)


def any_rate(outcome: Outcome, words: tuple[str, ...]) -> float:
    """Family-wise: the share of replicates in which some comparison ended with one of `words`."""
    return float(np.isin(outcome.verdicts, words).any(axis=(1, 2)).mean())


def share(outcome: Outcome, word: str) -> float:
    """Per comparison: the share of comparisons that ended with `word`."""
    return float((outcome.verdicts == word).mean())


def characteristics(
    design: Design, sd: float, effect: float | None, scales: Sequence[int], x2_first: bool, replicates: int
) -> list[tuple[str, float, float]]:
    """(what, sequential, fixed) rows: error rates, power and expected runs."""
    rows: list[tuple[str, float, float]] = []
    scenarios = [(0.0, "no difference"), (design.margin, "difference = margin")]
    if effect is not None and effect not in (0.0, design.margin):
        scenarios.append((effect, f"difference = {effect:g} dB"))
    for true, name in scenarios:
        pair = [simulate(d, sd, true, scales, x2_first, replicates) for d in (design, design.fixed())]
        if true == 0.0:
            rows.append(
                ("false better/worse, family-wise (no difference)", *(any_rate(o, (BETTER, WORSE)) for o in pair))
            )
            rows.append(("equivalent, per comparison (no difference)", *(share(o, EQUIVALENT) for o in pair)))
        elif true == design.margin:
            rows.append(
                ("false equivalent, family-wise (difference = margin)", *(any_rate(o, (EQUIVALENT,)) for o in pair))
            )
        else:
            word = BETTER if true > 0 else WORSE
            rows.append((f"power: {word}, per comparison ({name})", *(share(o, word) for o in pair)))
        rows.append((f"expected runs ({name})", *(float(o.runs.mean()) for o in pair)))
    return rows


def render(design: Design, sd: float, rows: list[tuple[str, float, float]], replicates: int) -> str:
    levels = design.levels()
    lines = [
        f"design: {design.describe()}",
        f"per-seed SD of the difference: {sd:g} dB; {replicates} simulated studies per column",
        "nominal levels per look (per comparison): difference p <= "
        + " / ".join(f"{a:.2g}" for a, _ in levels)
        + ", equivalence (TOST) p <= "
        + " / ".join(f"{b:.2g}" for _, b in levels),
        "",
        f"| | sequential (looks {','.join(map(str, design.looks))}) | fixed ({design.looks[-1]} seeds) |",
        "|---|---|---|",
    ]
    for what, seq, fixed in rows:
        if what.startswith("expected runs"):
            lines.append(f"| {what} | {seq:.1f} | {fixed:.0f} |")
        else:
            se = math.sqrt(max(seq * (1 - seq), 1e-12) / replicates)
            lines.append(f"| {what} | {100 * seq:.1f}% (±{100 * se:.1f}) | {100 * fixed:.1f}% |")
    return "\n".join(lines)


def pilot_sd(pilot: Path, factor: str, reference: str) -> float:
    """The pooled per-seed SD of the primary-endpoint difference over every comparison a pilot sweep holds."""
    from src.study.config import level_keys
    from src.study.endpoint import by_seed, config_value, finished_jobs, primary_differences, value_key

    if not Path(pilot).is_dir():
        raise UserError(f"--pilot {pilot}: no such directory; pass a sweep folder (hydra.sweep.dir) or --sd")
    jobs = finished_jobs(pilot, factor)
    ref = level_keys(factor, [reference], [])[0][reference]
    cells = {(r.get("scale"), value_key(config_value(r.get("config") or {}, factor))) for r in jobs}
    squares, df = 0.0, 0
    for scale, key in sorted(c for c in cells if c[1] != ref):
        seeds = by_seed(jobs, factor, key, scale)
        diffs = np.array(list(primary_differences(jobs, factor, key, ref, scale, seeds).values()))
        if diffs.size >= 2:
            squares += float(((diffs - diffs.mean()) ** 2).sum())
            df += diffs.size - 1
    if df == 0:
        raise UserError(
            f"{pilot}: no comparison with {reference} over 2 or more paired seeds; run a pilot sweep with seeds "
            "or give --sd"
        )
    return math.sqrt(squares / df)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m src.study.simulate",
        description="Simulate a sequential study with the code src.study runs: family-wise false better/worse "
        "with no difference, false equivalent at the margin, power, expected runs; beside the fixed design.",
    )
    p.add_argument("--looks", required=True, help="cumulative seeds at each look, e.g. 3,5,8")
    p.add_argument("--margin", type=float, required=True, help="equivalence margin in dB")
    sd = p.add_mutually_exclusive_group(required=True)
    sd.add_argument("--sd", type=float, help="SD of the per-seed difference of the primary endpoint, dB")
    sd.add_argument("--pilot", type=Path, help="a pilot sweep folder to measure that SD from")
    p.add_argument("--comparisons", type=int, default=8, help="comparisons in the family (levels x scales)")
    p.add_argument("--scales", type=int, default=2, help="scales the comparisons split over (default 2)")
    p.add_argument("--effect", type=float, help="a true difference (dB) to state the power at")
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--spending", default="obf", help="obf (default) or pocock")
    p.add_argument("--x4-from-x2", action="store_true", help="larger scales start from x2 runs (init_from: x2)")
    p.add_argument("--replicates", type=int, default=20_000, help="simulated studies per scenario and design")
    p.add_argument("--factor", default="activation", help="with --pilot: the factor's config key")
    p.add_argument("--reference", default="relu", help="with --pilot: the reference level")
    return p


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        looks = tuple(int(x) for x in args.looks.split(","))
    except ValueError:
        raise UserError(f"--looks {args.looks}: give seed counts separated by commas, e.g. --looks 3,5,8") from None
    sd = args.sd if args.sd is not None else pilot_sd(args.pilot, args.factor, args.reference)
    if not sd > 0:
        raise UserError(f"--sd {sd}: the SD of the per-seed difference must be > 0")
    design = Design(looks, args.margin, args.alpha, args.comparisons, args.spending)
    scales = [2 * (i + 1) for i in range(args.scales)]  # x2 first: what --x4-from-x2 keys on
    rows = characteristics(design, sd, args.effect, scales, args.x4_from_x2, args.replicates)
    print(render(design, sd, rows, args.replicates))
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())

"""Verdicts and the images-sampled interval on simulated data whose truth is known.

The pure functions (src/report/decisions.py, src/report/crossed.py) run on simulated arrays, many times, and are
held to their error rates within Monte Carlo tolerance (about 3 standard errors); then one small sweep of
results.json folders goes through the report and its verdict column.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from src.report.crossed import crossed_interval
from src.report.decisions import BETTER, EQUIVALENT, UNDECIDED, WORSE, family_verdicts, paired_tests
from tests.test_report import run_main

SEED_SD = 0.05  # dB: the seed-to-seed SD of a per-seed difference


def verdict_rates(truth: float, margin: float, seeds: int, family: int, repetitions: int, seed: int) -> dict:
    """How often each verdict is given to the first comparison of a family whose every comparison has `truth`;
    and how often any comparison of the family is called better or worse (the family-wise error under 0)."""
    rng = np.random.default_rng(seed)
    first = dict.fromkeys((BETTER, WORSE, EQUIVALENT, UNDECIDED), 0)
    any_difference = 0
    for _ in range(repetitions):
        tests = [paired_tests(rng.normal(truth, SEED_SD, seeds), margin) for _ in range(family)]
        decisions = family_verdicts(tests)
        first[decisions[0].verdict] += 1
        any_difference += any(d.verdict in (BETTER, WORSE) for d in decisions)
    return {**{k: v / repetitions for k, v in first.items()}, "any_difference": any_difference / repetitions}


def tolerance(rate: float, repetitions: int) -> float:
    return 3.0 * math.sqrt(rate * (1.0 - rate) / repetitions)


def test_no_effect_is_called_better_or_worse_about_5_percent_of_the_time() -> None:
    alone = verdict_rates(0.0, 0.05, seeds=5, family=1, repetitions=3000, seed=0)
    assert alone[BETTER] + alone[WORSE] == pytest.approx(0.05, abs=tolerance(0.05, 3000))
    assert alone[BETTER] == pytest.approx(alone[WORSE], abs=2 * tolerance(0.025, 3000))
    # Holm keeps the chance of any false difference in a family of 4 at 5% or below.
    family = verdict_rates(0.0, 0.05, seeds=5, family=4, repetitions=1500, seed=1)
    assert family["any_difference"] <= 0.05 + tolerance(0.05, 1500)


def test_no_effect_is_found_equivalent_when_the_margin_is_several_seed_sds() -> None:
    rates = verdict_rates(0.0, 4 * SEED_SD, seeds=5, family=4, repetitions=1000, seed=2)
    assert rates[EQUIVALENT] >= 0.9, rates


def test_an_effect_as_large_as_the_margin_is_rarely_called_equivalent() -> None:
    # TOST at the margin is at its level: about 5% (the far one-sided test always rejects with a wide margin).
    rng = np.random.default_rng(3)
    margin = 10 * SEED_SD
    p_values = [paired_tests(rng.normal(margin, SEED_SD, 5), margin).p_equivalence for _ in range(3000)]
    assert np.mean(np.array(p_values) <= 0.05) == pytest.approx(0.05, abs=tolerance(0.05, 3000))
    # As a verdict, alone and after Holm over a family: at most 5% (a shown difference takes precedence).
    for family, seed in ((1, 4), (4, 5)):
        rates = verdict_rates(-2 * SEED_SD, 2 * SEED_SD, seeds=5, family=family, repetitions=1500, seed=seed)
        assert rates[EQUIVALENT] <= 0.05 + tolerance(0.05, 1500), rates


def test_a_difference_beats_equivalence_and_nothing_decides_nothing() -> None:
    (decided,) = family_verdicts([paired_tests([0.30, 0.31, 0.29, 0.30], 0.5)])
    assert decided.verdict == BETTER  # inside the margin, yet shown to differ from 0: reported as a difference
    (one_seed,) = family_verdicts([paired_tests([0.3], 0.5)])
    assert one_seed.verdict == UNDECIDED and math.isnan(one_seed.p_difference_adj)


def crossed(rng: np.random.Generator, seeds: int, images: int, sd_seed: float, sd_image: float, sd_error: float):
    return (
        rng.normal(0.0, sd_seed, seeds)[:, None]
        + rng.normal(0.0, sd_image, images)[None, :]
        + rng.normal(0.0, sd_error, (seeds, images))
    )


@pytest.mark.parametrize(
    ("seeds", "images", "sd_seed", "sd_image", "sd_error"),
    [(4, 20, 0.03, 0.10, 0.05), (5, 30, 0.05, 0.02, 0.05), (3, 14, 0.02, 0.20, 0.05)],
)
def test_the_images_sampled_interval_covers_on_crossed_data(
    seeds: int, images: int, sd_seed: float, sd_image: float, sd_error: float
) -> None:
    """Seeds and images both drawn: the crossed interval covers the truth 95% of the time; the seed-only
    interval, which holds the images fixed, covers less whenever images disagree about the difference."""
    rng = np.random.default_rng(seeds)
    weights = rng.uniform(0.5, 1.5, images)
    covered, covered_seed_only, repetitions = 0, 0, 1500
    for _ in range(repetitions):
        d = crossed(rng, seeds, images, sd_seed, sd_image, sd_error)
        interval = crossed_interval(d, weights)
        covered += interval.low <= 0.0 <= interval.high
        per_seed = d @ (weights / weights.sum())
        half = stats.t.ppf(0.975, seeds - 1) * per_seed.std(ddof=1) / math.sqrt(seeds)
        covered_seed_only += abs(per_seed.mean()) <= half
    assert covered / repetitions == pytest.approx(0.95, abs=0.025)
    if sd_image > sd_seed:
        assert covered_seed_only / repetitions < 0.9


def test_the_crossed_interval_is_the_anova_one_when_balanced() -> None:
    d = crossed(np.random.default_rng(9), 4, 6, 0.05, 0.05, 0.05)
    n, k = d.shape
    ms_seed = k * d.mean(axis=1).var(ddof=1)
    ms_image = n * d.mean(axis=0).var(ddof=1)
    residual = d - d.mean(axis=1, keepdims=True) - d.mean(axis=0, keepdims=True) + d.mean()
    ms_error = (residual**2).sum() / ((n - 1) * (k - 1))
    interval = crossed_interval(d)
    if ms_seed > ms_error and ms_image > ms_error:
        variance = (ms_seed + ms_image - ms_error) / (n * k)
        assert (interval.high - interval.low) / 2 / math.sqrt(variance) == pytest.approx(
            stats.t.ppf(0.975, interval.df)
        )
    assert interval.mean == pytest.approx(d.mean())
    assert crossed_interval(d[:1]) is None and crossed_interval(d[:, :1]) is None


def write_sweep(root: Path, truths: dict[str, float], seeds: int, margin: float, rng: np.random.Generator) -> None:
    """results.json folders: per seed and image, ReLU's PSNR and each level's = ReLU + truth + seed x image
    noise; the sweep's config declares `report.margin`."""
    difficulty = rng.normal(30.0, 2.0, 12)
    for seed in range(seeds):
        base = difficulty + rng.normal(0.0, 0.05)
        for act, truth in {"relu": 0.0, **truths}.items():
            shift = 0.0 if act == "relu" else truth + rng.normal(0.0, SEED_SD)
            psnr = base + shift + rng.normal(0.0, 0.02, base.size)
            images = {f"im{i}": {"psnr_y": float(v), "ssim_y": 0.9} for i, v in enumerate(psnr)}
            results = {
                "status": "finished",
                "model": "edsr_baseline",
                "activation": act,
                "scale": 2,
                "seed": seed,
                "world_size": 1,
                "metrics": {"Set14": {"psnr_y": float(psnr.mean()), "ssim_y": 0.9, "images": images}},
                "config": {
                    "activation": {"name": act},
                    "model": {"name": "edsr_baseline"},
                    "scale": 2,
                    "seed": seed,
                    "report": {"margin": margin},
                },
            }
            (root / f"{act}_{seed}").mkdir(parents=True)
            (root / f"{act}_{seed}" / "results.json").write_text(json.dumps(results))


def test_a_sweep_with_known_truth_gets_its_verdicts(tmp_path: Path) -> None:
    write_sweep(tmp_path, {"mish": 0.5, "swish": 0.0, "gelu": -0.5}, seeds=6, margin=0.2, rng=np.random.default_rng(5))
    code, out, _ = run_main([str(tmp_path)])
    assert code == 0
    assert "margin ±0.2 dB" in out  # read from the jobs' report.margin
    rows = {r["activation"]: r for r in csv.DictReader((tmp_path / "report" / "table1.csv").open())}
    assert (rows["mish"]["verdict"], rows["swish"]["verdict"], rows["gelu"]["verdict"]) == (
        BETTER,
        EQUIVALENT,
        WORSE,
    )
    assert rows["relu"]["verdict"] == "" and rows["mish"]["margin"] == "0.2"
    primary = next(line for line in out.splitlines() if line.startswith("| x2 | Set14 |"))
    assert "images sampled: [" in primary and primary.count("better") == 1
    # --margin overrides the jobs' margin: nothing is within 0.01 dB, so swish is no longer shown equivalent.
    code, out, _ = run_main([str(tmp_path), "--margin", "0.01", "--out", str(tmp_path / "narrow")])
    rows = {r["activation"]: r for r in csv.DictReader((tmp_path / "narrow" / "table1.csv").open())}
    assert rows["swish"]["verdict"] == UNDECIDED and "margin ±0.01 dB" in out

"""The report's inference on simulated sweeps whose truth is known, over many repetitions.

Each simulated run's per-image PSNR = image difficulty (shared by every run) + a seed effect (shared by the
activations of one seed: same initial weights and sample stream) + the activation's true effect + a run-level
offset (a retrain shifts every image of that network together) + per-image noise. The run, not the image, is
the unit of replication, so a calibrated report must be right about the seed-to-seed spread.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from src.contracts.results import FINISHED
from src.report.collect import Job
from src.report.stats import Comparison
from src.report.summary import summarize

ACTIVATIONS = ("relu", "lrelu", "swish", "mish")
SETTING = {"model.net.n_resblocks": 16, "model.net.n_feats": 64, "trainer.max_steps": 300000, "world_size": 1}


def simulate(
    rng: np.random.Generator,
    effects: dict[str, float],
    seeds: int,
    images: dict[str, int],
    run_sd: float,
    image_sd: float,
    seed_sd: float = 0.05,
) -> tuple[list[Job], dict[tuple[str, int, str], np.ndarray]]:
    """Jobs with set-level metrics (means over images), and the per-image PSNRs behind them."""
    difficulty = {name: rng.normal(32.0, 3.0, size) for name, size in images.items()}
    seed_effect = rng.normal(0.0, seed_sd, seeds)
    jobs, per_image = [], {}
    for act in ACTIVATIONS:
        for seed in range(seeds):
            offset = rng.normal(0.0, run_sd)
            metrics = {}
            for name, size in images.items():
                psnr = difficulty[name] + seed_effect[seed] + effects.get(act, 0.0) + offset
                psnr = psnr + rng.normal(0.0, image_sd, size)
                per_image[(act, seed, name)] = psnr
                metrics[name] = {"psnr_y": float(psnr.mean()), "ssim_y": 0.9 + 0.001 * float(psnr.mean() - 32.0)}
            jobs.append(
                Job(
                    path=Path(f"sim/{act}/{seed}"),
                    status=FINISHED,
                    model="edsr_baseline",
                    activation=act,
                    scale=2,
                    seed=seed,
                    metrics=metrics,
                    identity={**SETTING, "activation.name": act, "scale": 2, "seed": seed},
                )
            )
    return jobs, per_image


def comparisons(jobs: list[Job]) -> tuple[list[Comparison], list[Comparison]]:
    """The per-set ΔPSNR comparisons and the primary endpoints of the one simulated section."""
    (section,) = summarize(jobs).sections
    per_set = [c.psnr_vs_reference for c in section.cells.values() if c.psnr_vs_reference is not None]
    return per_set, [p.comparison for p in section.primary.values()]


def calibration(
    effect: float, repetitions: int, images: dict[str, int], run_sd: float, image_sd: float, seed: int = 0
) -> dict[str, float]:
    """Over repetitions of a 5-seed sweep where every activation's true effect is `effect`: how often p < 0.05,
    how often the 95% CI covers the truth, how often the effect is found (p < 0.05 and the CI on its side of 0),
    the mean estimate, the starred fraction (Holm), and what pooling seeds x images as independent would say."""
    rng = np.random.default_rng(seed)
    found, covered, significant, starred, estimates, naive = [], [], [], [], [], []
    for _ in range(repetitions):
        jobs, per_image = simulate(rng, dict.fromkeys(ACTIVATIONS[1:], effect), 5, images, run_sd, image_sd)
        per_set, primary = comparisons(jobs)
        for c in per_set + primary:
            significant.append(c.p_value < 0.05)
            covered.append(c.ci_low <= effect <= c.ci_high)
            found.append(c.p_value < 0.05 and c.ci_low > 0)
            starred.append(c.p_adj < 0.05)
            estimates.append(c.mean)
        for act in ACTIVATIONS[1:]:
            for name in images:
                pooled = np.concatenate([per_image[(act, s, name)] - per_image[("relu", s, name)] for s in range(5)])
                naive.append(stats.ttest_1samp(pooled, 0.0).pvalue < 0.05)
    return {
        "significant": float(np.mean(significant)),
        "coverage": float(np.mean(covered)),
        "found": float(np.mean(found)),
        "starred": float(np.mean(starred)),
        "mean_estimate": float(np.mean(estimates)),
        "naive_significant": float(np.mean(naive)),
        "comparisons": len(significant),
    }


# (images per set, run-level SD, per-image SD): run offsets comparable to the per-image noise, sizes varied.
CASES = [
    ({"Set14": 14, "B100": 100}, 0.03, 0.05),
    ({"Set5": 5, "Set14": 14}, 0.05, 0.05),
    ({"Set14": 14, "Urban100": 100}, 0.02, 0.10),
]


@pytest.mark.parametrize(("images", "run_sd", "image_sd"), CASES)
def test_no_effect_is_rarely_significant_and_cis_cover_zero(images: dict, run_sd: float, image_sd: float) -> None:
    result = calibration(0.0, 50, images, run_sd, image_sd)
    assert result["comparisons"] == 50 * 9
    assert result["significant"] <= 0.10, result
    assert result["coverage"] >= 0.85, result
    assert result["starred"] <= result["significant"]
    # The same data pooled over seeds x images as if independent (the error this report no longer makes) is
    # significant several times as often as it should be: the simulation has the run-level spread that matters.
    assert result["naive_significant"] >= 0.15, result


@pytest.mark.parametrize(("images", "run_sd", "image_sd"), [CASES[0], CASES[2]])
def test_a_real_tenth_of_a_db_is_found_with_its_size(images: dict, run_sd: float, image_sd: float) -> None:
    result = calibration(0.10, 40, images, run_sd, image_sd, seed=1)
    assert result["found"] >= 0.80, result
    assert result["mean_estimate"] == pytest.approx(0.10, abs=0.03), result
    assert result["coverage"] >= 0.85, result


def test_the_interval_is_over_seeds_not_images() -> None:
    # Doubling the images of a set barely narrows the interval when run-level offsets dominate.
    rng = np.random.default_rng(2)
    widths = {}
    for size in (10, 1000):
        jobs, _ = simulate(rng, {}, 5, {"Set14": size}, run_sd=0.05, image_sd=0.05)
        (cell,) = [c for c in summarize(jobs).sections[0].cells.values() if c.level == "mish"]
        widths[size] = cell.psnr_vs_reference.ci_high - cell.psnr_vs_reference.ci_low
        assert cell.psnr_vs_reference.n == 5
    assert widths[1000] > 0.02 and math.isfinite(widths[10])

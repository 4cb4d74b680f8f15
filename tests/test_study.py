"""Sequential studies (src/study): boundaries, the looks' bookkeeping, resuming, refusing a changed design."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from src.contracts.errors import UserError
from src.report.decisions import paired_tests
from src.study import boundaries, cli
from src.study.decide import paired_tests_many
from src.study.design import Design
from src.study.schedule import next_sweeps
from src.study.simulate import pilot_sd
from tests.helpers import exit_code


def test_one_look_is_the_fixed_design_exactly() -> None:
    assert Design((8,), 0.05, 0.05, 4).levels() == [(0.0125, 0.0125)]


def test_two_looks_with_many_seeds_match_the_normal_theory_boundary() -> None:
    # Lan-DeMets O'Brien-Fleming-type, two looks at half and all the information: with 2000 and 4000 seeds the t
    # boundaries are the normal ones, whose second solves P(|Z1| < c1, |Z2| < c2) = 1 - alpha, corr(Z1, Z2) = √½.
    first, second = boundaries.nominal_levels((2000, 4000), 0.05, "obf", True)
    c1, c2_t = stats.norm.isf(first / 2), stats.t.isf(second / 2, 3999)
    rho = math.sqrt(0.5)
    mvn = stats.multivariate_normal([0, 0], [[1, rho], [rho, 1]])

    def inside(c2: float) -> float:
        return mvn.cdf([c1, c2]) - mvn.cdf([-c1, c2]) - mvn.cdf([c1, -c2]) + mvn.cdf([-c1, -c2])

    c2 = optimize.brentq(lambda c: inside(c) - 0.95, 1.5, 3.0)
    assert c1 == pytest.approx(2.7718, abs=1e-4)
    assert c2_t == pytest.approx(c2, abs=0.003)  # t with 3999 df is z + ~0.0006 here


@pytest.mark.parametrize("two_sided", [True, False])
def test_calibrated_t_boundaries_spend_alpha_on_fresh_paths(two_sided: bool) -> None:
    looks, alpha = (3, 5, 8), 0.05
    levels = boundaries.nominal_levels(looks, alpha, "pocock", two_sided)
    paths = boundaries.t_paths(looks, 200_000, seed=7)  # not the calibration's seed
    stat = np.abs(paths) if two_sided else paths
    tails = 2.0 if two_sided else 1.0
    crit = np.array([stats.t.isf(p / tails, n - 1) for p, n in zip(levels, looks, strict=True)])
    crossed_by = np.maximum.accumulate(stat >= crit, axis=1).mean(axis=0)
    expected = boundaries.spent("pocock", alpha, looks)
    assert crossed_by == pytest.approx(expected, abs=3 * math.sqrt(alpha / 200_000))
    # Normal boundaries would be far too lenient at 2 df: the t level at look 1 is the t tail, not the z tail.
    assert levels[0] == pytest.approx(expected[0])


def test_boundaries_are_deterministic() -> None:
    first = boundaries.nominal_levels.__wrapped__((3, 5, 8), 0.01, "obf", True)
    assert first == boundaries.nominal_levels.__wrapped__((3, 5, 8), 0.01, "obf", True)


def test_vectorised_tests_equal_the_report_decisions() -> None:
    rng = np.random.default_rng(1)
    diffs = rng.normal(0.02, 0.03, size=(40, 5))
    diffs[3] = 0.0  # no spread, mean 0
    diffs[4] = 0.2  # no spread, outside the margin
    diffs[5] = 0.01  # no spread, inside
    many = paired_tests_many(diffs, 0.05)
    for i, row in enumerate(diffs):
        one = paired_tests(row, 0.05)
        assert (many.mean[i], many.p_difference[i], many.p_equivalence[i]) == pytest.approx(
            (one.mean, one.p_difference, one.p_equivalence), rel=1e-12, abs=1e-15
        )


def test_larger_scales_pull_their_open_levels_into_the_x2_sweep_first() -> None:
    open_ = np.array([[False, True, False], [True, False, False]])  # x2: level 1 open; x4: level 0 open
    swept, mask = next_sweeps(open_, [2, 4], x2_first=True)
    assert swept == (2, 4)
    assert mask.tolist() == [[True, True, True, False], [True, True, False, False]]
    swept, mask = next_sweeps(open_[1:], [4], x2_first=True)  # x2 is no study scale, but x4 starts from it
    assert swept == (2, 4) and mask.tolist() == [[True, True, False, False], [True, True, False, False]]
    swept, mask = next_sweeps(np.zeros((2, 3), bool), [2, 4], x2_first=True)
    assert not mask.any()


def test_designs_are_checked_before_any_run() -> None:
    for bad in [dict(looks=(3, 3)), dict(looks=(1, 3)), dict(margin=0.0), dict(alpha=0.7), dict(spending="x")]:
        args = dict(looks=(3, 5), margin=0.05, alpha=0.05, comparisons=2) | bad
        with pytest.raises(UserError):
            Design(**args)


# A fake src.train: each job's Y-PSNR is planted, so every verdict of the study is known in advance.
PLANTED = {  # (scale, level) -> per-seed difference vs relu (None: noisy, undecidable at 3 seeds)
    (2, "identity"): -0.3,  # the same every seed: no spread, decided `worse` at look 1
    (2, "lrelu"): None,
    (4, "identity"): -0.3,
    (4, "lrelu"): 0.0,  # exactly the reference: `equivalent` at look 1
}
NOISE = [0.03, -0.02, 0.05, -0.04]


class FakeTrain:
    def __init__(self, keys: dict[str, str]):
        self.keys = keys
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> int:
        self.calls.append(argv)
        args = dict(a.split("=", 1) for a in argv if "=" in a)
        root = Path(args["hydra.sweep.dir"])
        scale = int(args["scale"])
        for level in args["activation"].split(","):
            for seed in map(int, args["seed"].split(",")):
                planted = 0.0 if level == "relu" else PLANTED[(scale, level)]
                diff = NOISE[seed] if planted is None else planted
                results = {
                    "status": "finished",
                    "scale": scale,
                    "seed": seed,
                    "metrics": {"Set5": {"psnr_y": 30.0 + diff}},
                    "config": {"activation": json.loads(self.keys[level])},
                }
                job = root / f"x{scale}-{level}-s{seed}"
                job.mkdir(parents=True)  # a job is never run twice
                (job / "results.json").write_text(json.dumps(results))
        return 0


def _argv(folder: Path, margin: float = 0.01) -> list[str]:
    return [
        "study.levels=[lrelu,identity]",
        "study.scales=[2,4]",
        "study.looks=[2,3]",
        f"study.margin={margin}",
        "experiment=smoke",
        f"hydra.sweep.dir={folder}",
    ]


def test_only_undecided_comparisons_get_more_seeds_and_a_rerun_runs_nothing(tmp_path: Path, capsys) -> None:
    study_overrides, _, passthrough = cli.split(_argv(tmp_path))
    study, keys = cli.build_study(study_overrides, passthrough)
    fake = FakeTrain(keys)
    assert cli.main(_argv(tmp_path), launch=fake) == 0
    assert [a[-4] for a in fake.calls] == ["scale=2", "scale=4", "scale=2"]  # look 1: x2, x4; look 2: x2 only
    looks = [json.loads((tmp_path / "study" / f"look-{k}.json").read_text()) for k in (1, 2)]
    assert looks[0]["runs"] == 12 and looks[1]["runs"] == 2
    assert looks[1]["sweeps"] == [{"scale": 2, "levels": ["relu", "lrelu"], "seeds": [2]}]
    first = {(c["scale"], c["level"]): c["verdict"] for c in looks[0]["comparisons"]}
    assert first == {
        (2, "lrelu"): "undecided",
        (2, "identity"): "worse",
        (4, "lrelu"): "equivalent",
        (4, "identity"): "worse",
    }
    assert [(c["scale"], c["level"], c["n"]) for c in looks[1]["comparisons"]] == [(2, "lrelu", 3)]
    table = (tmp_path / "study" / "table.md").read_text()
    assert "looks at 2, 3 seeds; margin 0.01 dB" in table and "Bonferroni over 4 comparisons" in table
    assert "| x2 | identity | worse | 1 (2) |" in table
    assert "14 runs, against 18 for the fixed design" in table
    assert not (tmp_path / "x2-lrelu-s3").exists() and study.design.looks == (2, 3)

    # The folder doubles as a pilot: the pooled SD of every comparison's per-seed differences (x2 lrelu's
    # 0.03, -0.02, 0.05 carry all the spread; the other three comparisons add one degree of freedom each).
    assert pilot_sd(tmp_path, "activation", "relu") == pytest.approx(math.sqrt(0.0026 / 5))

    again = FakeTrain(keys)
    assert cli.main(_argv(tmp_path), launch=again) == 0
    assert again.calls == []  # a rerun of a finished study adds no job
    assert (tmp_path / "study" / "table.md").read_text() == table
    capsys.readouterr()

    assert exit_code(lambda a: cli.main(a, launch=again), _argv(tmp_path, margin=0.02)) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "margin 0.01 -> 0.02" in err and again.calls == []


def test_the_study_owns_its_factor_scale_and_seed(tmp_path: Path, capsys) -> None:
    for extra in ["seed=3", "activation=mish", "scale=4"]:
        assert exit_code(lambda a: cli.main(a, launch=FakeTrain({})), [*_argv(tmp_path), extra]) == 2
        assert "the study sets activation, scale and seed" in capsys.readouterr().err
    assert exit_code(lambda a: cli.main(a, launch=FakeTrain({})), _argv(tmp_path)[:-1]) == 2
    assert "hydra.sweep.dir=" in capsys.readouterr().err
    assert not (tmp_path / "study").exists()


def test_a_folder_holding_another_experiment_is_refused_naming_the_key(tmp_path: Path) -> None:
    """The study pools only jobs that differ in the factor, the scale and the seed (the report's rule)."""
    from src.contracts.errors import UserError

    for level, lr in (("relu", 1e-4), ("lrelu", 1e-4), ("lrelu", 1e-3)):
        for seed in (0, 1):
            job = tmp_path / f"x2-{level}-{lr}-s{seed}"
            job.mkdir()
            results = {
                "status": "finished",
                "scale": 2,
                "seed": seed,
                "metrics": {"Set5": {"psnr_y": 30.0 + seed}},
                "config": {"activation": {"name": level}, "optim": {"lr": lr}},
            }
            (job / "results.json").write_text(json.dumps(results))
    with pytest.raises(UserError, match=r"optim\.lr 0\.0001 vs 0\.001"):
        pilot_sd(tmp_path, "activation", "relu")

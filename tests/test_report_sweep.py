"""Issue acceptance: a seeded smoke sweep through the real CLI, then `python -m src.report` over it."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from PIL import Image
from scipy import stats

from tests.helpers import run_cli

pytestmark = pytest.mark.slow

ACTIVATIONS = ("relu", "lrelu", "swish", "mish")


@pytest.fixture(scope="module")
def seeded_sweep(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("seeded") / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        f"activation={','.join(ACTIVATIONS)}",
        "scale=2,4",
        "seed=0,1",
        "experiment=smoke",
        f"paths.data_dir={data_root}",
        "data.test_sets=[Set5]",
        f"hydra.sweep.dir={out}",
        "logger=csv",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert len(list(out.glob("*/results.json"))) == 16
    return out


def test_the_report_agrees_with_the_jobs(seeded_sweep: Path) -> None:
    proc = run_cli("src.report", str(seeded_sweep))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = seeded_sweep / "report"
    jobs = [json.loads(p.read_text()) for p in seeded_sweep.glob("*/results.json")]
    rows = list(csv.DictReader((report / "table1.csv").open()))
    assert list(rows[0])[:12] == [
        "scale",
        "dataset",
        "activation",
        "n_seeds",
        "psnr_mean",
        "psnr_std",
        "ssim_mean",
        "ssim_std",
        "dpsnr_vs_reference",
        "dpsnr_ci_low",
        "dpsnr_ci_high",
        "p_value",
    ]
    assert len(rows) == 8
    for row in rows:
        values = [
            j["metrics"]["Set5"]
            for j in jobs
            if j["activation"] == row["activation"] and j["scale"] == int(row["scale"])
        ]
        psnrs = [v["psnr_y"] for v in values]
        mean = sum(psnrs) / 2
        assert int(row["n_seeds"]) == 2
        assert float(row["psnr_mean"]) == pytest.approx(mean, abs=1e-6)
        assert float(row["psnr_std"]) == pytest.approx(math.sqrt(sum((p - mean) ** 2 for p in psnrs)), abs=1e-6)
        assert float(row["ssim_mean"]) == pytest.approx(sum(v["ssim_y"] for v in values) / 2, abs=1e-6)
        if row["activation"] == "relu":
            assert row["dpsnr_vs_reference"] == "" and row["n_pairs"] == ""
        else:
            # Per seed: the set value minus ReLU's of the same seed; then the t-interval over the two seeds.
            relu = {
                j["seed"]: j["metrics"]["Set5"]["psnr_y"]
                for j in jobs
                if j["activation"] == "relu" and j["scale"] == int(row["scale"])
            }
            diffs = [
                j["metrics"]["Set5"]["psnr_y"] - relu[j["seed"]]
                for j in jobs
                if j["activation"] == row["activation"] and j["scale"] == int(row["scale"])
            ]
            assert int(row["n_pairs"]) == len(diffs) == 2
            assert float(row["dpsnr_vs_reference"]) == pytest.approx(sum(diffs) / 2, abs=1e-6)
            if row["p_value"]:
                assert float(row["p_value"]) == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue, rel=1e-6)
                assert float(row["dpsnr_ci_low"]) <= float(row["dpsnr_vs_reference"]) <= float(row["dpsnr_ci_high"])
                assert float(row["p_adj"]) >= float(row["p_value"])
    table = (report / "table1.md").read_text()
    assert "±" in table and "ΔPSNR" in table and table in proc.stdout
    pngs = sorted(report.glob("*.png"))
    assert len(pngs) >= 2
    for png in pngs:
        with Image.open(png) as im:
            assert im.width > 200 and im.height > 200

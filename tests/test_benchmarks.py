"""The benchmark programs' helpers on tiny inputs: they run, agree with their references, return their keys.

No timing is asserted anywhere: the figures are for `make bench` to print, not for tests to judge.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from benchmarks import demo, flops, gpu, metric_speed, numpy_imresize, patches, resize, run, tiled, train_speed
from benchmarks.common import interleaved, machine, photo_mosaic
from src.data.imresize import downscale


def test_interleaved_alternates_and_takes_medians() -> None:
    calls: list[str] = []
    a_values, b_values = iter([1.0, 3.0, 2.0]), iter([2.0, 2.0, 8.0])

    def run_a() -> float:
        calls.append("a")
        return next(a_values)

    def run_b() -> float:
        calls.append("b")
        return next(b_values)

    res = interleaved(run_a, run_b, 3)
    assert calls == ["a", "b"] * 3
    assert (res.a, res.b) == (2.0, 2.0)
    assert res.ratio == pytest.approx(0.5)  # median of 0.5, 1.5, 0.25
    with pytest.raises(ValueError):
        interleaved(run_a, run_b, 0)


def test_machine_record_has_what_the_results_promise() -> None:
    info = machine()
    assert {"cpu", "cores", "torch_threads", "torch"} <= info.keys()


def test_conv_flop_counter_matches_a_hand_count() -> None:
    net = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),  # out (2, 4, 8, 8): 2 * 9 * 3 * 4 * 64 * 2 = 27648
        nn.ReLU(),
        nn.Conv2d(4, 2, 1),  # out (2, 2, 8, 8): 2 * 1 * 4 * 2 * 64 * 2 = 2048
        nn.Conv2d(2, 2, 3, stride=2, padding=1, groups=2),  # out (2, 2, 4, 4): 2 * 9 * 1 * 2 * 16 * 2 = 1152
    )
    x = torch.zeros(2, 3, 8, 8)
    assert flops.forward_flops(net, x) == 30848
    assert flops.train_step_flops(net, x) == 3 * 30848
    assert not any(m._forward_hooks for m in net.modules())  # hooks removed afterwards


def test_numpy_port_equals_the_project_resize() -> None:
    hr = photo_mosaic(61, 83, cols=2, rows=2)
    for s in (2, 3, 4):
        assert np.array_equal(numpy_imresize.downscale(hr, s), downscale(hr, s))


def test_resize_bench_quick() -> None:
    res = resize.bench(quick=True)
    assert {"resize_speed_vs_numpy", "x2", "x4", "summary"} <= res.keys()
    assert res["x2"]["identical"] and res["x2"]["ours_mp_per_s"] > 0


def test_metric_bench_quick_agrees_with_skimage() -> None:
    res = metric_speed.bench(quick=True)
    assert {"metric_speed_vs_skimage", "ours_ms_per_image", "skimage_ms_per_image"} <= res.keys()
    assert max(res["max_abs_difference"].values()) < 1e-4


def test_patch_loaders_yield_identical_samples_and_bench_quick() -> None:
    res = patches.bench(quick=True)
    assert {"patches_speed_vs_png", "patches_speed_vs_whole_array", "workers0", "setup"} <= res.keys()
    assert res["workers0"]["png_patches_per_s"] > 0


def test_train_speed_bench_quick() -> None:
    res = train_speed.bench(quick=True)
    assert {"train_speed_vs_bare", "project_steps_per_s", "bare_steps_per_s", "setup"} <= res.keys()
    assert res["project_steps_per_s"] > 0 and res["bare_steps_per_s"] > 0


def test_tiled_bench_quick_runs_both_variants_in_subprocesses() -> None:
    res = tiled.bench(quick=True)
    assert {"tiled_peak_mem_ratio", "tiled_max_abs_diff", "tiled_time_ratio"} <= res.keys()
    assert res["tiled_max_abs_diff"] <= 1
    assert res["untiled"]["peak_mb"] > 0


def test_demo_reads_the_newest_record(tmp_path: Path) -> None:
    assert demo.bench(multirun=tmp_path)["demo_sweep_seconds"] is None
    old, new = tmp_path / "demo-a" / demo.RECORD, tmp_path / "demo-b" / "x" / demo.RECORD
    for path, seconds, finished in (
        (old, 400.0, "2026-01-01T10:00:00+00:00"),
        (new, 380.5, "2026-01-02T10:00:00+00:00"),
    ):
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"seconds": seconds, "finished": finished, "jobs": 8}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / demo.RECORD).write_text("{not json")
    res = demo.bench(multirun=tmp_path)
    assert res["demo_sweep_seconds"] == 380.5
    assert res["record"] == str(new)
    assert "not measured in this run" in res["source"]


def test_run_quick_prints_a_table_and_writes_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("OMP_WAIT_POLICY", "PASSIVE")
    out = tmp_path / "results.json"
    assert run.main(["--quick", "--only", "resize", "demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "resize_speed_vs_numpy" in printed
    record = json.loads(out.read_text())
    assert {"date", "machine", "load_average", "wall_seconds", "figures", "benchmarks"} <= record.keys()
    assert record["figures"]["resize_speed_vs_numpy"]["target"] == ">= 1"
    # --only merges into an existing file instead of dropping the other entries.
    assert run.main(["--quick", "--only", "metric_speed", "--out", str(out)]) == 0
    assert {"resize", "demo", "metric_speed"} <= json.loads(out.read_text())["benchmarks"].keys()


def test_gpu_bench_code_path_on_cpu(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    args = ["--device", "cpu", "--steps", "2", "--warmup", "1", "--tiny", "--batch", "2", "--patch", "8"]
    assert gpu.main([*args, "--out", str(out), "--peak-tflops", "1"]) == 0
    record = json.loads(out.read_text())
    assert [r["scale"] for r in record["runs"]] == [2, 4]
    first = record["runs"][0]
    assert first["iterations_per_s"] > 0 and first["mfu"] is not None
    assert first["flops_per_step"] == flops.train_step_flops(gpu.EDSR(2, **gpu.TINY), torch.zeros(2, 3, 8, 8))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on machines without CUDA")
def test_gpu_bench_exits_2_without_cuda(capsys: pytest.CaptureFixture) -> None:
    assert gpu.main([]) == 2
    assert "no CUDA" in capsys.readouterr().err


def test_known_bf16_peaks() -> None:
    assert gpu.known_peak("NVIDIA H100 80GB HBM3") == 989.0
    assert gpu.known_peak("NVIDIA H100 PCIe") == 756.0
    assert gpu.known_peak("NVIDIA A100-SXM4-80GB") == 312.0
    assert gpu.known_peak("NVIDIA L40S") == 362.0
    assert gpu.known_peak("Some Future GPU") is None

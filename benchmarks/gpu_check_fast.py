"""`make gpu-check`, fast path: each `fast.*` switch trains EDSR full x2 and its loss curve tracks fp32 eager.

Every run is the project's training step (Lightning Trainer + SRModule + SRDataModule, `benchmarks.train_speed
.fit_project`) from the same seed, so all runs see the same batches in the same order; only the switch differs.
The curve is the training loss read every step, averaged over windows of `curve_window` steps.

Tolerance: each window's mean loss within TOLERANCE (relative) of the fp32 eager run's. bf16 keeps 8 significant
bits (a relative rounding of 2^-9, about 0.2%, per operation); with identical batches the window mean is set
mostly by the batches' content, so over a few hundred steps a correct switch moves it by well under 1%, as mixed
precision training is known to track fp32 curves (Micikevicius et al., "Mixed Precision Training", ICLR 2018).
A broken switch (a wrong memory format, gradients lost to rounding, a mis-compiled residual scaling) moves the
curve by tens of percent or makes it non-finite. 3% leaves room for the chaotic drift of weights between two
numerically different runs while still catching those.
"""

from __future__ import annotations

import gc
from typing import Any

from omegaconf import DictConfig

from benchmarks.gpu_check_plan import Plan, skipped, with_settings
from benchmarks.train_speed import fit_project

TOLERANCE = 0.03
REFERENCE = "fp32_eager"
# Every switch off: the reference. Each other run turns on one switch, and `gpu_default` all of those a GPU job
# turns on by default (conf/train.yaml `fast.*: auto`).
OFF = {
    "fast.precision": "32-true",
    "fast.channels_last": False,
    "fast.cudnn_benchmark": False,
    "fast.fused_adam": False,
    "fast.compile": False,
}
SWITCHES: dict[str, dict[str, Any]] = {
    REFERENCE: {},
    "bf16_mixed": {"fast.precision": "bf16-mixed"},
    "channels_last": {"fast.channels_last": True},
    "fused_adam": {"fast.fused_adam": True},
    "compile": {"fast.compile": True},
    "gpu_default": {
        "fast.precision": "bf16-mixed",
        "fast.channels_last": True,
        "fast.cudnn_benchmark": True,
        "fast.fused_adam": True,
    },
}
NO_CPU_COMPILE = (
    "torch.compile runs on CUDA only here: on a CPU its one-off compilation (tens of seconds) would dominate a "
    "check meant to take seconds"
)


def window_means(history: list[list[float]], window: int) -> list[float]:
    """Mean loss of each complete window of `window` consecutive recorded steps."""
    values = [v for _, v in history]
    return [sum(values[i : i + window]) / window for i in range(0, len(values) - window + 1, window)]


def curve_gap(curve: list[float], reference: list[float]) -> float:
    """The largest relative difference between two window-mean curves (inf when one is not finite)."""
    if len(curve) != len(reference) or not curve:
        return float("inf")
    gaps = [abs(a - b) / abs(b) for a, b in zip(curve, reference, strict=True)]
    return max(gaps) if all(g == g for g in gaps) else float("inf")


def _train(cfg: DictConfig, settings: dict[str, Any], window: int) -> dict[str, Any]:
    module, trainer = fit_project(with_settings(cfg, {**OFF, **settings}), [])
    history = module.history.get("train/loss", [])
    steps, diverged_at, precision = int(trainer.global_step), module.diverged_at, str(trainer.precision)
    del module, trainer
    gc.collect()  # Trainer and module hold each other: free this run's loader workers and GPU memory now
    return {
        "steps": steps,
        "diverged_at": diverged_at,
        "precision": precision,
        "window_means": window_means(history, window),
        "first_loss": history[0][1] if history else None,
        "last_loss": history[-1][1] if history else None,
    }


def run(plan: Plan, cfg: DictConfig) -> dict[str, Any]:
    """Trains every switch for `plan.curve_steps` steps and compares its curve with the fp32 eager one."""
    cfg = with_settings(
        cfg,
        {
            "trainer.max_steps": plan.curve_steps,
            "data.steps_per_epoch": plan.curve_steps,
            "trainer.log_every_n_steps": 1,  # the curve: the loss of every step
        },
    )
    runs: dict[str, Any] = {}
    for name, settings in SWITCHES.items():
        if name == "compile" and not plan.cuda:
            runs[name] = skipped(NO_CPU_COMPILE)
            continue
        try:
            runs[name] = _train(cfg, settings, plan.curve_window)
        except Exception as err:  # one failing switch (say, compile without a toolchain) must not hide the rest
            if name == REFERENCE:
                raise
            runs[name] = {"error": f"{type(err).__name__}: {err}", "max_relative_gap": float("inf")}
    reference = runs[REFERENCE]["window_means"]
    for res in runs.values():
        if "skipped" not in res and "error" not in res:
            res["max_relative_gap"] = curve_gap(res["window_means"], reference)
            res["within_tolerance"] = res["diverged_at"] is None and res["max_relative_gap"] <= TOLERANCE
    trained = {k: v for k, v in runs.items() if "skipped" not in v and k != REFERENCE}
    for res in trained.values():
        res.setdefault("within_tolerance", False)
    worst = max(trained, key=lambda k: trained[k]["max_relative_gap"])
    return {
        "summary": f"{len(trained)} switches, worst curve gap {trained[worst]['max_relative_gap']:.2%} ({worst}) "
        f"vs tolerance {TOLERANCE:.0%}, {plan.curve_steps} steps each",
        "tolerance": TOLERANCE,
        "max_curve_gap": trained[worst]["max_relative_gap"],
        "passed": all(v["within_tolerance"] for v in trained.values()),
        "runs": runs,
        "setup": {
            "network": f"EDSR {plan.net}, x2",
            "batch": plan.batch,
            "lr_patch": plan.patch,
            "steps": plan.curve_steps,
            "window": plan.curve_window,
            "reference": "fp32 eager: every fast.* switch off, same seed and batches",
            "path": "Lightning Trainer + SRModule + SRDataModule (benchmarks.train_speed.fit_project)",
        },
    }

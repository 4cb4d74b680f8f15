"""The qualitative comparison SR papers show: the same zoomed crop of HR, bicubic and each level's output.

For each scale and set: the test images where the levels differ most (by the mean over seeds of each image's
difference vs the reference, as in per_image.csv) and the one where they differ least. Each level is shown by
one run: its median seed by set PSNR, or one seed for all levels when asked. The crop is where those runs'
outputs disagree most: searched over every window when the networks are small enough to run on the whole image
on a CPU, else among the windows where bicubic errs most (the detail a network has to restore), each network
run on the window's LR pixels plus its receptive radius of context, which reproduces the whole-image output.
The networks are the finished jobs' own: built from the config in their results.json and loaded
(weights_only=True) from their last checkpoint, which must be the step the job was scored at. Scores come from
the protocol (src/protocol/metrics.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from src.contracts.errors import UserError
from src.contracts.results import read_results
from src.contracts.rundir import RunDir
from src.report.image_records import SetRecord, by_group, by_level_seed, median_seed
from src.report.per_image import ImageDifference, image_differences, levels_in_order

CROP = 96  # HR pixels on a side: a 48-pixel LR window at x2, 24 at x4
CANDIDATES = 6  # windows, by bicubic error, that every network is run on to find where they disagree
# LR pixels x parameters below which each network runs on the whole image (the demo's 0.1M-parameter EDSR on a
# 120x120 LR image is 1.4e9; EDSR full on a Set14 image is 2.4e12): under a second per pass on a CPU.
WHOLE_BUDGET = 2e10


@dataclass(frozen=True)
class Box:
    """A square window in LR pixels; the HR window is the same one times the scale."""

    top: int
    left: int
    size: int

    def hr(self, scale: int) -> tuple[slice, slice]:
        return (slice(self.top * scale, (self.top + self.size) * scale),
                slice(self.left * scale, (self.left + self.size) * scale))  # fmt: skip


@dataclass
class Tile:
    """One crop of the figure: HR, bicubic or a level's output, as uint8 (H, W, C), its |error| on Y against
    HR and its protocol scores on the crop (psnr_y, ssim_y; none for HR itself)."""

    label: str
    pixels: np.ndarray
    error: np.ndarray | None = None
    crop_scores: dict[str, float] | None = None
    image_psnr: float | None = None  # the whole image's value from results.json (the run shown)


@dataclass
class Comparison:
    """One image of the figure: where the crop lies, why the image was chosen, and its tiles."""

    scale: int
    set_name: str
    image: str
    reason: str
    box: Box
    hr: np.ndarray  # the whole HR image, for the context view
    tiles: list[Tile]
    shown: str = "each level's median seed by set PSNR"  # which run of each level the tiles are


def pick_images(rows: Sequence[ImageDifference], n_differ: int) -> list[tuple[str, str]]:
    """(image, why it is shown) of one group: the `n_differ` images with the widest range of level means (the
    reference counts as 0), then the narrowest one, where the levels agree."""
    means: dict[str, dict[str, float]] = {}
    for r in rows:
        means.setdefault(r.image, {r.reference: 0.0})[r.level] = r.mean
    ranked = sorted(means, key=lambda image: (min(means[image].values()) - max(means[image].values()), image))
    chosen = ranked[:n_differ] + (ranked[-1:] if len(ranked) > n_differ else [])
    return [(image, _why(means[image], i >= n_differ, rows[0])) for i, image in enumerate(chosen)]


def _why(means: dict[str, float], agree: bool, row: ImageDifference) -> str:
    """'levels differ most: mean ΔPSNR-Y vs relu from -0.259 (identity) to +0.000 dB (relu)'."""
    (low, lo), (high, hi) = min(means.items(), key=lambda kv: kv[1]), max(means.items(), key=lambda kv: kv[1])
    unit = " dB" if row.metric.startswith("psnr") else ""
    return (
        f"levels {'differ least' if agree else 'differ most'}: mean Δ{_name(row.metric)} vs {row.reference} "
        f"from {lo:+.3f} ({low}) to {hi:+.3f}{unit} ({high})"
    )


def _name(metric: str) -> str:
    return metric.upper().replace("_", "-")


def load_network(job_dir: Path) -> torch.nn.Module:
    """The job's network from its results.json config and last checkpoint, through src.models.build (weights
    only, identity checked); refused unless the checkpoint is the step the job's test scores came from."""
    from omegaconf import OmegaConf

    from src.contracts.identity import job_identity
    from src.models.build import build_model
    from src.models.weights import read_checkpoint

    run = RunDir(job_dir)
    results = read_results(run.results)
    steps = (results.get("train") or {}).get("steps")
    saved = read_checkpoint(run.last_checkpoint)
    at = saved.get("global_step") if isinstance(saved, dict) else None
    if steps is not None and at != steps:
        raise UserError(
            f"{run.last_checkpoint} is step {at} but {run.results} scored step {steps}: the figure would show "
            "other weights than were scored; rerun the job so that its last checkpoint is its final step"
        )
    cfg = OmegaConf.create(results["config"])
    cfg.ckpt = str(run.last_checkpoint)
    # The identity the job wrote (its resolved config has lost which keys were copies of others).
    net, _ = build_model(cfg, results.get("identity") or job_identity(cfg))
    return net.float()


def upscale_box(net: torch.nn.Module, lr: torch.Tensor, box: Box, scale: int) -> torch.Tensor:
    """The network's output on `box` of the (1, 3, h, w) LR image: run on the box plus the network's receptive
    radius of context (clipped at the image's edges, where the whole image has its edges too), then cropped."""
    from src.models.inference import receptive_radius, super_resolve

    r, (h, w) = receptive_radius(net), lr.shape[-2:]
    ys, xs = max(box.top - r, 0), max(box.left - r, 0)
    ye, xe = min(box.top + box.size + r, h), min(box.left + box.size + r, w)
    sr = super_resolve(net, lr[..., ys:ye, xs:xe], scale)
    oy, ox = (box.top - ys) * scale, (box.left - xs) * scale
    return sr[..., oy : oy + box.size * scale, ox : ox + box.size * scale]


def candidate_boxes(bicubic: torch.Tensor, hr: torch.Tensor, scale: int, size: int, count: int) -> list[Box]:
    """Up to `count` windows (half-overlapping grid, none overlapping another by more than half a side) where
    bicubic's error on Y is largest: the detail a network must restore, where levels can differ at all."""
    error = (_y(bicubic) - _y(hr)).abs()[0, 0]
    h, w = error.shape[0] // scale, error.shape[1] // scale
    step = max(size // 2, 1)
    tops = sorted({*range(0, max(h - size, 0) + 1, step), max(h - size, 0)})
    lefts = sorted({*range(0, max(w - size, 0) + 1, step), max(w - size, 0)})
    ranked = sorted(((float(error[Box(t, x, size).hr(scale)].mean()), t, x) for t in tops for x in lefts), reverse=True)
    chosen: list[Box] = []
    for _, top, left in ranked:
        if all(abs(top - b.top) > size // 2 or abs(left - b.left) > size // 2 for b in chosen):
            chosen.append(Box(top, left, size))
        if len(chosen) == count:
            break
    return chosen


def _y(img: torch.Tensor) -> torch.Tensor:
    """The channel the protocol scores: MATLAB Y of quantized RGB, or a grey image's one channel."""
    from src.protocol.metrics import quantize, rgb_to_y

    img = quantize(img.double())
    return rgb_to_y(img) if img.shape[1] == 3 else img


def _as_hr(sr: torch.Tensor, hr_channels: int) -> torch.Tensor:
    """An output as it is scored and shown: quantized, averaged to one channel against a grey HR."""
    from src.protocol.metrics import quantize

    sr = quantize(sr.double())
    return quantize(sr.mean(dim=1, keepdim=True)) if hr_channels == 1 else sr


def disagreement(crops: Sequence[torch.Tensor]) -> float:
    """How much the levels' outputs of one window differ: the mean over pixels of their SD on Y."""
    stack = torch.stack([_y(c)[0, 0] for c in crops])
    return float(stack.std(dim=0, unbiased=False).mean()) if len(crops) > 1 else 0.0


def locate(nets: dict[str, torch.nn.Module], lr: torch.Tensor, hr: torch.Tensor, bicubic: torch.Tensor,
           scale: int, size: int, count: int = CANDIDATES) -> tuple[Box, dict[str, torch.Tensor]]:  # fmt: skip
    """The window where the levels' outputs disagree most, and each level's output there. Small enough images
    and networks are run whole and every window is searched; larger ones only on the `count` windows where
    bicubic errs most (so a CPU never runs a big network over a whole large image)."""
    weights = max(sum(p.numel() for p in net.parameters()) for net in nets.values())
    if lr.shape[-2] * lr.shape[-1] * max(weights, 1) <= WHOLE_BUDGET:
        return _locate_whole(nets, lr, hr, bicubic, scale, size)
    best: tuple[float, Box, dict[str, torch.Tensor]] | None = None
    for box in candidate_boxes(bicubic, hr, scale, size, count):
        crops = {level: upscale_box(net, lr, box, scale) for level, net in nets.items()}
        value = disagreement(list(crops.values()))
        if best is None or value > best[0]:
            best = (value, box, crops)
    assert best is not None
    return best[1], best[2]


def _locate_whole(nets: dict[str, torch.nn.Module], lr: torch.Tensor, hr: torch.Tensor, bicubic: torch.Tensor,
                  scale: int, size: int) -> tuple[Box, dict[str, torch.Tensor]]:  # fmt: skip
    """Every window (on the LR grid) searched on the whole outputs: where their SD on Y is largest on average
    (with one level, where bicubic errs most)."""
    from src.models.inference import super_resolve

    outputs = {level: super_resolve(net, lr, scale) for level, net in nets.items()}
    if len(outputs) > 1:
        where = torch.stack([_y(o)[0, 0] for o in outputs.values()]).std(dim=0, unbiased=False)
    else:
        where = (_y(bicubic) - _y(hr)).abs()[0, 0]
    means = torch.nn.functional.avg_pool2d(where[None, None], kernel_size=size * scale, stride=scale)[0, 0]
    top, left = divmod(int(means.argmax()), means.shape[1])
    box = Box(top, left, size)
    return box, {level: out[(..., *box.hr(scale))] for level, out in outputs.items()}


def make_tile(label: str, sr: torch.Tensor, hr_crop: torch.Tensor, image_psnr: float | None = None) -> Tile:
    """A crop with its |error| on Y and its protocol scores over the crop (no border shaved: it is interior)."""
    from src.protocol.metrics import score

    shown = _as_hr(sr, hr_crop.shape[1])
    values = score(sr, hr_crop, shave=0)
    error = (_y(shown) - _y(hr_crop)).abs()[0, 0].numpy()
    return Tile(label, _pixels(shown), error, {k: float(values[k][0]) for k in ("psnr_y", "ssim_y")}, image_psnr)


def _pixels(img: torch.Tensor) -> np.ndarray:
    return img[0].permute(1, 2, 0).round().clamp(0, 255).to(torch.uint8).numpy()


def compare_image(
    nets: dict[str, torch.nn.Module],
    shown: dict[str, SetRecord],
    pair: Any,
    scale: int,
    crop: int,
    reason: str,
    metric: str = "psnr_y",
) -> Comparison:
    """HR, bicubic and every level's output on the window of `pair` (an ImagePair) where the levels differ most;
    `shown` is the run shown per level (its label names the seed)."""
    from src.data.datasets import to_tensor
    from src.models.bicubic import Bicubic

    lr, hr = to_tensor(pair.lr, 3)[None], to_tensor(pair.hr)[None]
    bicubic = Bicubic(scale)(lr)
    size = max(min(crop // scale, lr.shape[-2], lr.shape[-1]), 11)  # SSIM needs an 11-pixel window
    box, outputs = locate(nets, lr, hr[..., : lr.shape[-2] * scale, : lr.shape[-1] * scale], bicubic, scale, size)
    hr_crop = hr[(..., *box.hr(scale))]
    tiles = [
        Tile("HR", _pixels(hr_crop)),
        make_tile("Bicubic", bicubic[(..., *box.hr(scale))], hr_crop),
        *(
            make_tile(f"{level} (seed {shown[level].seed})", sr, hr_crop, shown[level].images[pair.name][metric])
            for level, sr in outputs.items()
        ),
    ]
    return Comparison(scale, shown[next(iter(shown))].set_name, pair.name, reason, box, _pixels(hr), tiles)


def _data(record: SetRecord) -> tuple[Path, Path | None, int | None]:
    """The data root, cache and pixel guard the job was tested with (its results.json config)."""
    config = read_results(RunDir(record.job_dir).results).get("config", {})
    data = config.get("data", {})
    return Path(config.get("paths", {}).get("data_dir", "")), data.get("cache_dir"), data.get("max_pixels")


def shown_runs(
    group: Sequence[SetRecord], levels: Sequence[str], seed: int | None, metric: str
) -> dict[str, SetRecord]:
    """The run shown per level: its median seed by set value, or `seed` for every level."""
    runs = by_level_seed(group)
    if seed is None:
        return {level: runs[level][median_seed(runs[level], metric)] for level in levels}
    lacking = [level for level in levels if seed not in runs[level]]
    if lacking:
        raise UserError(f"seed {seed} has no run of {', '.join(lacking)}; pick a seed every level ran, or none")
    return {level: runs[level][seed] for level in levels}


def group_comparisons(
    group: Sequence[SetRecord],
    reference: str,
    n_differ: int,
    crop: int,
    data_dir: Path | None,
    metric: str,
    seed: int | None = None,
) -> list[Comparison]:
    """The comparisons of one (scale, set): chosen images, each level's shown network, their crops."""
    from src.data.datasets import load_pairs
    from src.data.layout import set_dirs

    rows = image_differences(group, reference, metric)
    if not rows:
        return []
    order = [lv for lv in levels_in_order(group) if lv == reference or any(r.level == lv for r in rows)]
    shown = shown_runs(group, order, seed, metric)
    nets = {level: load_network(record.job_dir) for level, record in shown.items()}
    root, cache, max_pixels = _data(shown[reference])
    scale, set_name = group[0].scale, group[0].set_name
    dirs = set_dirs(data_dir or root, set_name, scale)
    pairs = {p.name: p for p in load_pairs(dirs, scale, cache_dir=cache, max_pixels=max_pixels)}
    rule = f"seed {seed} for every level" if seed is not None else f"each level's median seed by set {_name(metric)}"
    return [
        replace(compare_image(nets, shown, pairs[image], scale, crop, why, metric), shown=rule)
        for image, why in pick_images(rows, n_differ)
    ]


def write_qualitative(
    records: Sequence[SetRecord],
    reference: str,
    out_dir: Path,
    *,
    n_differ: int = 2,
    crop: int = CROP,
    data_dir: Path | None = None,
    metric: str = "psnr_y",
    seed: int | None = None,
    tag: str = "",
    dpi: int = 100,
) -> list[Path]:
    """qualitative_x<scale>_<set>.png per scale and set into `out_dir`; the paths written. `n_differ` images
    where the levels differ most (plus one where they agree), `crop` HR pixels on a side, `seed` the one seed
    shown for every level (default: each level's median seed), `data_dir` the data root when it is not the one
    recorded in the jobs' results.json (a sweep copied from another machine), `tag` a name part for several
    comparisons in one report (qualitative_<tag>_x2_Set5.png), `dpi` the PNG's resolution."""
    from src.report.qualitative_figure import figure

    written = []
    for (scale, set_name), group in by_group(records).items():
        comparisons = group_comparisons(group, reference, n_differ, crop, data_dir, metric, seed)
        if comparisons:
            out_dir = Path(out_dir)
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / f"qualitative_{tag + '_' if tag else ''}x{scale}_{set_name}.png"
            figure(comparisons, reference).savefig(path, dpi=dpi)
            written.append(path)
    if not written:
        raise UserError(
            f"no qualitative comparison: no level ran a seed that a {reference} run also ran on the same set and "
            "scale; run the reference with the same seeds"
        )
    return written

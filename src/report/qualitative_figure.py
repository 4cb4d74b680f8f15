"""Drawing the qualitative comparison: per chosen image, a row of crops and under it their error maps.

Each image is a block: the whole HR image with the crop marked, the HR crop, bicubic and each level's output;
under every output its |SR - HR| on Y, on one colour scale shared by the whole block (so darker is better
across the row), the scale bar under the whole image. Blocks wrap after MAX_COLUMNS tiles, so 5-10 levels stay
readable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from src.report.per_image import new_figure
from src.report.qualitative import Comparison, Tile

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

MAX_COLUMNS = 6
TILE_INCHES = 1.85
ERROR_CMAP = "inferno"


def _show(axes: Axes, pixels: np.ndarray) -> None:
    if pixels.shape[-1] == 1:
        axes.imshow(pixels[..., 0], cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    else:
        axes.imshow(pixels, interpolation="nearest")
    axes.set_xticks([])
    axes.set_yticks([])


def _error_scale(tiles: Sequence[Tile]) -> float:
    """The block's shared maximum: the 99.5th percentile of all its errors (a few outliers do not wash the
    maps out), at least 1 grey level."""
    errors = np.concatenate([t.error.ravel() for t in tiles if t.error is not None])
    return max(float(np.percentile(errors, 99.5)), 1.0)


def _context(axes: Axes, comparison: Comparison) -> None:
    from matplotlib.patches import Rectangle

    _show(axes, comparison.hr)
    rows, cols = comparison.box.hr(comparison.scale)
    axes.add_patch(Rectangle((cols.start - 0.5, rows.start - 0.5), cols.stop - cols.start, rows.stop - rows.start,
                             fill=False, edgecolor="#00ff66", linewidth=1.5))  # fmt: skip
    axes.set_title(f"{comparison.image} (whole HR)", fontsize=8)


def _scores_text(comparison: Comparison) -> str:
    lines = ["whole image, PSNR-Y", "(results.json):"]
    lines += [f"{t.label.split(' (')[0]}: {t.image_psnr:.2f} dB" for t in comparison.tiles if t.image_psnr is not None]
    return "\n".join(lines)


def _tile(axes: Axes, tile: Tile, reference: str) -> None:
    _show(axes, tile.pixels)
    weight = "bold" if tile.label.split(" (")[0] == reference else "normal"
    text = tile.label
    if tile.crop_scores is not None:
        text += f"\n{tile.crop_scores['psnr_y']:.2f} dB / {tile.crop_scores['ssim_y']:.4f}"
    axes.set_title(text, fontsize=8, fontweight=weight)


def _block(sub: SubFigure, comparison: Comparison, reference: str) -> None:
    """One image: tiles in rows of MAX_COLUMNS, each row of tiles over its row of error maps."""
    slots = 1 + len(comparison.tiles)
    columns = min(slots, MAX_COLUMNS)
    grid = sub.add_gridspec(2 * math.ceil(slots / columns), columns)
    vmax = _error_scale(comparison.tiles)
    image, legend = None, None
    for k in range(math.ceil(slots / columns) * columns):
        top = sub.add_subplot(grid[2 * (k // columns), k % columns])
        bottom = sub.add_subplot(grid[2 * (k // columns) + 1, k % columns])
        bottom.axis("off")
        if k == 0:
            _context(top, comparison)
            legend = bottom
            continue
        if k > len(comparison.tiles):
            top.axis("off")
            continue
        tile = comparison.tiles[k - 1]
        _tile(top, tile, reference)
        if tile.error is None:
            bottom.text(0.0, 0.95, _scores_text(comparison), fontsize=7, va="top", family="monospace",
                        transform=bottom.transAxes)  # fmt: skip
        else:
            image = bottom.imshow(tile.error, cmap=ERROR_CMAP, vmin=0.0, vmax=vmax, interpolation="nearest")
            bottom.axis("on")
            bottom.set_xticks([])
            bottom.set_yticks([])
    if image is not None and legend is not None:
        # The scale bar sits in the empty slot under the whole image, so it takes no room from the maps.
        bar = sub.colorbar(image, cax=legend.inset_axes((0.08, 0.62, 0.84, 0.1)), orientation="horizontal")
        bar.set_label("|SR − HR| on Y\n(grey levels, this image)", fontsize=7)
        bar.ax.tick_params(labelsize=6)
    sub.suptitle(f"{comparison.image}: {comparison.reason}", fontsize=9, fontweight="bold")


def figure(comparisons: Sequence[Comparison], reference: str) -> Figure:
    """All chosen images of one scale and set, one block each, stacked."""
    first = comparisons[0]
    slots = 1 + len(first.tiles)
    columns = min(slots, MAX_COLUMNS)
    heights = [2 * math.ceil(slots / columns) for _ in comparisons]
    fig = new_figure(TILE_INCHES * columns, (TILE_INCHES + 0.25) * sum(heights) + 0.6)
    subs = fig.subfigures(len(comparisons), 1, height_ratios=heights, squeeze=False)[:, 0]
    for sub, comparison in zip(subs, comparisons, strict=True):
        _block(sub, comparison, reference)
    size = first.box.size * first.scale
    fig.suptitle(
        f"{first.set_name} x{first.scale}: {size}x{size} HR crops where the levels differ most; under each crop "
        f"PSNR-Y / SSIM-Y over the crop;\nruns shown: {first.shown}; error maps share one colour scale per image",
        fontsize=9,
    )
    return fig

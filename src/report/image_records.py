"""What the per-image and qualitative figures read: one finished job's per-image scores on one test set.

The figures compare *levels* of one factor (the values of a config key: activations, learning rates, model
sizes); a level's label comes from the caller. `records_from_dirs` is the thin adapter from sweep folders; the
figures themselves take any list of `SetRecord`s, so the report CLI may build them however it groups jobs.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from src.contracts.errors import UserError
from src.contracts.results import finished_records


@dataclass(frozen=True)
class SetRecord:
    """One job's scores on one test set: `images` is results.json's metrics[set]["images"] ({name: {metric:
    value}}); `job_dir` is the job's folder, from which the qualitative figure loads its network."""

    level: str
    seed: int
    scale: int
    set_name: str
    job_dir: Path
    images: Mapping[str, Mapping[str, float]] = field(repr=False)

    def set_value(self, metric: str = "psnr_y") -> float:
        """The set's value: the mean of per-image values (the SR literature's convention)."""
        return statistics.fmean(v[metric] for v in self.images.values())


Group = tuple[int, str]  # (scale, set)


def by_group(records: Iterable[SetRecord]) -> dict[Group, list[SetRecord]]:
    """Records per (scale, set), in scale then set order."""
    groups: dict[Group, list[SetRecord]] = defaultdict(list)
    for record in records:
        groups[(record.scale, record.set_name)].append(record)
    return dict(sorted(groups.items()))


def by_level_seed(records: Sequence[SetRecord]) -> dict[str, dict[int, SetRecord]]:
    """{level: {seed: record}} of one group; two records of one level and seed are refused (which is meant?)."""
    out: dict[str, dict[int, SetRecord]] = defaultdict(dict)
    for record in records:
        twin = out[record.level].get(record.seed)
        if twin is not None:
            raise UserError(
                f"two jobs of {record.level} seed {record.seed} at x{record.scale} on {record.set_name}: "
                f"{twin.job_dir} and {record.job_dir}; report on one sweep, or tell the levels apart by their key"
            )
        out[record.level][record.seed] = record
    return dict(out)


def median_seed(runs: Mapping[int, SetRecord], metric: str = "psnr_y") -> int:
    """The seed whose set value is the median of the level's seeds (the lower middle one for an even count):
    a typical run, neither the luckiest nor the worst."""
    ranked = sorted(runs, key=lambda seed: (runs[seed].set_value(metric), seed))
    return ranked[(len(ranked) - 1) // 2]


def level_value(results: Mapping[str, Any], key: str) -> Any:
    """The value of `key` for a job: a top-level field of results.json (`activation` is its label, e.g.
    `lrelu(0.2)`), else a dotted key of its resolved config (`optim.lr`, `model.net.n_feats`)."""
    if key in results and not isinstance(results[key], Mapping):
        return results[key]
    node: Any = results.get("config", {})
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def records_from_dirs(
    dirs: Iterable[Path],
    key: str = "activation",
    label: Callable[[Any], str] = str,
    where: Mapping[str, Any] | None = None,
    exclude: Path | None = None,
) -> list[SetRecord]:
    """A SetRecord per finished job and test set below `dirs`; a job without `key` (bicubic has no activation)
    is no level and is left out, as is one that does not match `where` ({key: value}, e.g. {"model": "edsr"}
    when a sweep holds several models). `label` names a level from its value (the report's display names)."""
    records = []
    for root in dirs:
        for job, results in finished_records(Path(root), exclude=exclude):
            if any(level_value(results, k) != v for k, v in (where or {}).items()):
                continue
            value = level_value(results, key)
            if value is None or results.get("seed") is None:
                continue
            for set_name, metrics in results.get("metrics", {}).items():
                if metrics.get("images"):
                    records.append(
                        SetRecord(
                            label(value),
                            int(results["seed"]),
                            int(results["scale"]),
                            set_name,
                            job.path,
                            metrics["images"],
                        )
                    )
    return records

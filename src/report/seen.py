"""Optional stopping: warn when a sweep's seeds were added after a report was written on it.

Adding seeds until a difference is significant and testing again makes the p-values too small (each look is
another chance of a false star). The report records in its folder which runs it saw; when a later report on
the same folder sees seeds that the last one did not, it says so above the tables.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from src.contracts.atomic import atomic_write
from src.contracts.results import FINISHED
from src.report.collect import Job

# In the report's folder: the finished runs (folder and seed) the last report on it read.
SEEN_FILE = "runs_seen.json"


def seed_warnings(jobs: Sequence[Job], out: Path) -> list[str]:
    """Warnings about seeds new since the last report written to `out`; then record what this report saw."""
    record = out / SEEN_FILE
    runs = {str(job.path): job.seed for job in jobs if job.status == FINISHED and not job.is_bicubic}
    warnings = []
    try:
        before = json.loads(record.read_text())
    except (OSError, ValueError):
        before = None
    if isinstance(before, dict) and isinstance(before.get("runs"), dict):
        old_seeds = set(before["runs"].values())
        new = sorted(
            {seed for path, seed in runs.items() if path not in before["runs"] and seed not in old_seeds},
            key=lambda s: (s is None, s or 0),
        )
        if new:
            warnings.append(
                f"seeds {', '.join(map(str, new))} were added after the last report on these runs "
                f"({len(before['runs'])} runs): testing again after adding seeds makes the p-values too small "
                "(optional stopping). Treat these tests as exploratory, or size the sweep with --plan before it "
                "runs and report it once (only a sequential design with planned looks allows repeated tests)"
            )
    payload = json.dumps({"runs": runs}, indent=1).encode()
    atomic_write(record, lambda f: f.write(payload))
    return warnings

"""The study's files in its sweep folder (`SweepDir(path).study`): the design, one file per look, the table.

The design is written before the first run; each look's verdicts are written once, atomically, after its runs
finished, and are never recomputed: a rerun reads them and goes on with the next look. A rerun that declares a
different design for the same folder is refused, naming what changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.contracts.atomic import atomic_write
from src.contracts.errors import UserError
from src.contracts.rundir import SweepDir, walk_jobs
from src.study.design import Design

DESIGN_FILE = "design.json"
TABLE_FILE = "table.md"


@dataclass(frozen=True)
class Study:
    """The design and what it runs: each non-reference level of `factor` vs `reference` at each scale, with the
    src.train `overrides` the command passed (experiment, data, launcher, ...)."""

    design: Design
    factor: str
    reference: str
    levels: tuple[str, ...]
    scales: tuple[int, ...]
    overrides: tuple[str, ...]
    x2_first: bool

    def declared(self) -> dict[str, Any]:
        return {
            **self.design.as_dict(),
            "factor": self.factor,
            "reference": self.reference,
            "levels": list(self.levels),
            "scales": list(self.scales),
            "overrides": list(self.overrides),
            "x2_first": self.x2_first,
        }


def _write_json(path: Path, data: Any) -> None:
    payload = (json.dumps(data, indent=2) + "\n").encode()
    atomic_write(path, lambda f: f.write(payload))


class StudyFolder:
    def __init__(self, sweep: Path):
        self.sweep = Path(sweep)
        self.path = SweepDir(self.sweep).study

    def look_file(self, look: int) -> Path:
        return self.path / f"look-{look}.json"

    @property
    def table(self) -> Path:
        return self.path / TABLE_FILE

    def open(self, study: Study, command: str) -> list[dict[str, Any]]:
        """Declare the design (a new study) or check it against the stored one; the looks decided so far."""
        design_file = self.path / DESIGN_FILE
        if not design_file.is_file():
            if any(walk_jobs(self.sweep)) if self.sweep.is_dir() else False:
                raise UserError(
                    f"{self.sweep} already holds jobs but no study design; a study declares its design before its "
                    "first run: choose a new hydra.sweep.dir"
                )
            levels = study.design.levels()
            _write_json(
                design_file,
                {
                    "declared": study.declared(),
                    "nominal_levels": [{"difference": d, "equivalence": e} for d, e in levels],
                    "command": command,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
        stored = json.loads(design_file.read_text())["declared"]
        changed = [k for k in stored if stored[k] != study.declared().get(k)]
        if changed:
            shown = "; ".join(f"{k} {stored[k]} -> {study.declared().get(k)}" for k in changed[:3])
            raise UserError(
                f"{self.sweep} holds a study with another design ({shown}); rerun with its design to resume, or "
                "choose a new hydra.sweep.dir"
            )
        return self.looks()

    def nominal_levels(self) -> list[tuple[float, float]]:
        """The stored boundaries: a resumed study decides with what it declared, whatever numpy does now."""
        data = json.loads((self.path / DESIGN_FILE).read_text())
        return [(float(x["difference"]), float(x["equivalence"])) for x in data["nominal_levels"]]

    def looks(self) -> list[dict[str, Any]]:
        out = []
        while self.look_file(len(out) + 1).is_file():
            out.append(json.loads(self.look_file(len(out) + 1).read_text()))
        return out

    def write_look(self, record: dict[str, Any]) -> None:
        _write_json(self.look_file(record["look"]), record)

    def write_table(self, text: str) -> None:
        payload = text.encode()
        atomic_write(self.table, lambda f: f.write(payload))

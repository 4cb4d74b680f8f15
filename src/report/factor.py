"""The factor under test: a config key (the activation by default), its levels, and the reference level.

A level is what the factor's keys hold in a job's identity. The activation's levels carry the registry's label
(`lrelu(0.2)`), and their columns its display names; any other key's level reads `key=value` (`optim.lr=0.001`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from src.contracts.errors import UserError
from src.contracts.identity import SEED, covered, without
from src.models.activations import activation_order
from src.models.activations import display_name as activation_display_name
from src.report.collect import BICUBIC, Job

DEFAULT_FACTOR = "activation"
DEFAULT_REFERENCE = "relu"


@dataclass(frozen=True)
class Factor:
    key: str = DEFAULT_FACTOR
    reference: str = DEFAULT_REFERENCE

    @property
    def is_activation(self) -> bool:
        return self.key == DEFAULT_FACTOR

    def values(self, job: Job) -> dict[str, Any]:
        """The job's values of the factor's keys (several where the factor is a section, e.g. `activation`)."""
        return {k: v for k, v in job.identity.items() if covered(k, (self.key,))}

    def setting(self, job: Job) -> dict[str, Any]:
        """Everything but the factor and the seed: what replicates and compared jobs must share."""
        return without(job.identity, self.key, SEED)

    def label(self, job: Job) -> str:
        """The job's column: the activation's label, else `key=value` of the factor's keys."""
        if job.is_bicubic:
            return BICUBIC
        values = self.values(job)
        if self.is_activation and job.activation:
            # The registry's label names the parameters; a non-default scope is part of the level too.
            scope = values.get("activation.scope")
            return job.activation + (f" scope={scope}" if scope not in (None, "blocks") else "")
        return ", ".join(f"{k}={value_text(v)}" for k, v in values.items())

    def is_reference(self, job: Job) -> bool:
        if job.is_bicubic:
            return False
        if self.is_activation:
            return self.label(job) == self.reference
        values = self.values(job)
        return len(values) == 1 and same_value(next(iter(values.values())), self.reference)

    def order(self, label: str, reference: str) -> tuple[int, Any]:
        """Columns: bicubic, the reference, then the registry's order (activation) or by value."""
        if label == BICUBIC:
            return (0, ())
        if label == reference:
            return (1, ())
        if self.is_activation:
            return (2, activation_order(label))
        value = label.rpartition("=")[2]
        return (2, (0, number_or_nan(value), label) if math.isfinite(number_or_nan(value)) else (1, 0.0, label))

    def check(self, jobs: Sequence[Job]) -> None:
        """A UserError naming the problem when no job has the factor's key or none is at the reference."""
        trained = [j for j in jobs if not j.is_bicubic and j.identity]
        if not trained:
            return
        if not any(self.values(j) for j in trained):
            varying = sorted({k for j in trained for k in j.identity if k != SEED and _varies(trained, k)})
            raise UserError(
                f"--factor {self.key}: no job's config has that key; keys that vary in these jobs: "
                f"{', '.join(varying[:8]) or 'none'}"
            )
        # Without ReLU runs the default report still shows every activation (uncompared); a reference the user
        # named must exist.
        named = not (self.is_activation and self.reference == DEFAULT_REFERENCE)
        if named and not any(self.is_reference(j) for j in trained):
            levels = sorted({self.label(j) for j in trained if self.values(j)})
            raise UserError(
                f"--reference {self.reference}: no job has {self.key} at that value; the levels are "
                f"{', '.join(levels[:8])}; pass one of them with --reference"
            )


def column_order(label: str) -> tuple[int, Any]:
    """The activation columns' order: bicubic, ReLU, then the registry's."""
    return Factor().order(label, DEFAULT_REFERENCE)


def display_name(label: str) -> str:
    """A column header: 'Bicubic', the activation registry's name ('lrelu(0.2)' -> 'LeakyReLU(0.2)'), or the
    label itself (`optim.lr=0.001`: unregistered labels stay as they are)."""
    return "Bicubic" if label == BICUBIC else activation_display_name(label)


def value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def number_or_nan(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def same_value(value: Any, reference: str) -> bool:
    """Whether a config value is the one given on the command line (`1e-4` matches 0.0001; `true` matches True)."""
    a, b = number_or_nan(value), number_or_nan(reference)
    if math.isfinite(a) and math.isfinite(b) and not isinstance(value, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return str(value).lower() == reference.lower()


def _varies(jobs: Sequence[Job], key: str) -> bool:
    return len({repr(j.identity.get(key)) for j in jobs}) > 1

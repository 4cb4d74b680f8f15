"""The activation registry: one entry per activation under study, the only place an activation is defined.

An entry holds the module maker, the default parameters, the display name and the formula (numpy, for the
report's plot). The report, the table columns and the labels all read it, so adding an activation is one entry
here plus `conf/activation/<name>.yaml` (see the README). This module does not import torch at import time:
the report reads the registry without loading the network code.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class Activation:
    """`make(n_feats, **params)` builds the module (PReLU learns one slope per channel, hence `n_feats`);
    `formula(x, **params)` is the same function on a numpy array; `defaults` are the parameters a config may
    override, with the paper's values (LeakyReLU's slope 0.01) or PyTorch's."""

    display: str
    make: Callable[..., nn.Module]
    formula: Callable[..., np.ndarray]
    defaults: dict[str, Any] = field(default_factory=dict)


def torch_nn() -> Any:
    """`torch.nn`, imported when a module is made, so that reading the registry does not load torch."""
    from torch import nn

    return nn


def _leaky(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


ACTIVATIONS: dict[str, Activation] = {
    "relu": Activation("ReLU", lambda n_feats: torch_nn().ReLU(inplace=True), lambda x: np.maximum(x, 0.0)),
    "lrelu": Activation(
        "LeakyReLU",
        lambda n_feats, negative_slope=0.01: torch_nn().LeakyReLU(negative_slope, inplace=True),
        lambda x, negative_slope=0.01: _leaky(x, negative_slope),
        {"negative_slope": 0.01},
    ),
    "swish": Activation("Swish", lambda n_feats: torch_nn().SiLU(), lambda x: x / (1.0 + np.exp(-x))),
    "mish": Activation("Mish", lambda n_feats: torch_nn().Mish(), lambda x: x * np.tanh(np.logaddexp(0.0, x))),
    "gelu": Activation(
        "GELU",
        lambda n_feats, approximate="none": torch_nn().GELU(approximate=approximate),
        _gelu,
        {"approximate": "none"},
    ),
    "elu": Activation(
        "ELU",
        lambda n_feats, alpha=1.0: torch_nn().ELU(alpha),
        lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
        {"alpha": 1.0},
    ),
    # The plot draws PReLU at its initial slope: the learned slopes differ per channel and block.
    "prelu": Activation(
        "PReLU",
        lambda n_feats, init=0.25: torch_nn().PReLU(n_feats, init),
        lambda x, init=0.25: _leaky(x, init),
        {"init": 0.25},
    ),
    # No nonlinearity: EDSR becomes a linear network. The positive control of an activation study: what the
    # nonlinearity buys at all.
    "identity": Activation("Identity (linear)", lambda n_feats: torch_nn().Identity(), lambda x: np.asarray(x, float)),
}

# The paper's four, in its column order; other activations follow them in registry order.
PAPER_ACTIVATIONS = ("relu", "lrelu", "swish", "mish")


def _entry(name: str) -> Activation:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def make_activation(name: str, n_feats: int, **params: object) -> nn.Module:
    """A fresh activation module (one per residual block, so PReLU slopes are not shared)."""
    return _entry(name).make(n_feats, **params)


def split_label(label: str) -> tuple[str, str]:
    """'lrelu(0.2)' -> ('lrelu', '(0.2)')."""
    base, paren, rest = label.partition("(")
    return base, paren + rest


def activation_label(name: str, **params: object) -> str:
    """`lrelu` for the paper's slope, `lrelu(0.2)` otherwise: one table column per distinct function."""
    defaults = ACTIVATIONS[name].defaults if name in ACTIVATIONS else {}
    changed = {k: v for k, v in params.items() if defaults.get(k) != v}
    if not changed:
        return name
    return f"{name}({','.join(str(v) for v in changed.values())})"


def display_name(label: str) -> str:
    """'lrelu(0.2)' -> 'LeakyReLU(0.2)'; labels of unregistered activations stay as they are."""
    base, rest = split_label(label)
    return (ACTIVATIONS[base].display if base in ACTIVATIONS else base) + rest


def activation_order(label: str) -> tuple[int, str]:
    """Sort key of table columns: ReLU first, then the registry's order; unknown labels last."""
    base, _ = split_label(label)
    names = list(ACTIVATIONS)
    return (names.index(base), label) if base in names else (len(names), label)


def formula_values(label: str, params: dict[str, Any], x: np.ndarray) -> np.ndarray | None:
    """The activation `label` at x with a run's parameters; None for an unregistered one."""
    base, _ = split_label(label)
    if base not in ACTIVATIONS:
        return None
    entry = ACTIVATIONS[base]
    known = {k: params[k] for k in entry.defaults if k in params}
    return entry.formula(x, **known)

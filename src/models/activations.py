"""The residual-block activations under study. Adding one: a line here and a file in conf/activation/."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

# Each maker takes the block's channel count (PReLU learns one slope per channel) plus its own parameters,
# whose defaults are the paper's (LeakyReLU slope 0.01) or PyTorch's.
ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {
    "relu": lambda n_feats: nn.ReLU(inplace=True),
    "lrelu": lambda n_feats, negative_slope=0.01: nn.LeakyReLU(negative_slope, inplace=True),
    "swish": lambda n_feats: nn.SiLU(),
    "mish": lambda n_feats: nn.Mish(),
    "gelu": lambda n_feats, approximate="none": nn.GELU(approximate=approximate),
    "elu": lambda n_feats, alpha=1.0: nn.ELU(alpha),
    "prelu": lambda n_feats, init=0.25: nn.PReLU(n_feats, init),
}

_DEFAULTS: dict[str, dict[str, object]] = {
    "lrelu": {"negative_slope": 0.01},
    "gelu": {"approximate": "none"},
    "elu": {"alpha": 1.0},
    "prelu": {"init": 0.25},
}


def make_activation(name: str, n_feats: int, **params: object) -> nn.Module:
    """A fresh activation module (one per residual block, so PReLU slopes are not shared)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name](n_feats, **params)


def activation_label(name: str, **params: object) -> str:
    """`lrelu` for the paper's slope, `lrelu(0.2)` otherwise: one table column per distinct function."""
    changed = {k: v for k, v in params.items() if _DEFAULTS.get(name, {}).get(k) != v}
    if not changed:
        return name
    return f"{name}({','.join(str(v) for v in changed.values())})"

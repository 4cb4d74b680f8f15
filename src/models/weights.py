"""Loading weights safely: this project's Lightning checkpoints and official EDSR-PyTorch `.pt` files.

Every load uses `torch.load(weights_only=True)`: a file whose unpickling would run code is refused.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from src.contracts.errors import UserError


def activation_keys(model: nn.Module) -> set[str]:
    """Keys of learnable activations (PReLU's slopes) wherever a model puts them (EDSR, RCAN, RDN): ReLU files
    have no such keys, so they may be missing when a ReLU weight file initialises another variant."""
    return {
        f"{name}.{key}"
        for name, module in model.named_modules()
        if type(module).__module__ == nn.ReLU.__module__
        for key, _ in module.named_parameters(recurse=False)
    }


# Where this project's checkpoints keep the identity of the job that wrote them (src/contracts/identity.py,
# written by src.runtime.callbacks.StampIdentity).
IDENTITY_KEY = "srsweep_identity"


class UnsafeCheckpointError(UserError):
    """A file whose unpickling would run code: refused, never loaded."""


class DamagedCheckpointError(UserError):
    """A file that is not a readable PyTorch file (truncated, garbled)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: cannot read checkpoint ({reason}); the file is corrupt or not a PyTorch file")
        self.reason = reason


def read_checkpoint(path: Path) -> object:
    """`torch.load(weights_only=True)` with one-line errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}; pass ckpt= an existing .ckpt or .pt file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UnsafeCheckpointError(
            f"{path}: refused to load: it is not a plain weight file and unpickling it could run code ({first}); "
            "use a checkpoint written by this project or an official EDSR state dict"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        # First sentence only: torch's own advice runs to several.
        reason = str(err).strip().splitlines()[0].split(". ")[0] if str(err).strip() else type(err).__name__
        raise DamagedCheckpointError(path, reason) from None


def read_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The network's state dict from an official `.pt` state dict or a Lightning checkpoint of ours, and the
    identity of the job that wrote it (None for files without one, such as the official EDSR weights)."""
    obj = read_checkpoint(path)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        # Lightning checkpoint of SRModule: the network's weights live under "net.".
        return {k[4:]: v for k, v in obj["state_dict"].items() if k.startswith("net.")}, obj.get(IDENTITY_KEY)
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, None
    raise UserError(f"{path}: no state dict inside; pass an official EDSR .pt or a checkpoint of this project")


def load_weights(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Load strictly, except that learnable-activation parameters may be absent (they keep their init)."""
    own = model.state_dict()
    optional = activation_keys(model)
    missing = [k for k in own if k not in state and k not in optional]
    unexpected = [k for k in state if k not in own]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s) e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s) e.g. {', '.join(unexpected[:3])}")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatch(es) e.g. {'; '.join(shapes[:2])}")
        raise UserError(
            f"{source} does not fit the model: {'; '.join(parts)}; choose the model= preset and scale= the "
            "checkpoint was trained with"
        )
    model.load_state_dict(state, strict=False)


def load_fitting(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path = "init_from") -> list[str]:
    """Load another run's weights where shapes agree (`init_from`: EDSR trains x4 from x2); returns the keys
    left as initialised.

    Fewer than half of the network's tensors fitting means the source is another network altogether, not a
    neighbour (x2 for x4, ReLU for Mish, which share every tensor): that is refused rather than trained on.
    """
    own = model.state_dict()
    take = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if 2 * len(take) < len(own):
        raise UserError(
            f"init_from={source}: only {len(take)} of the network's {len(own)} tensors fit; start from a "
            "checkpoint of the same model= preset (size), or drop init_from"
        )
    model.load_state_dict(take, strict=False)
    return [k for k in own if k not in take]

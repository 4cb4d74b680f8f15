"""Loading weights safely: this project's Lightning checkpoints and official EDSR-PyTorch `.pt` files.

Every load uses `torch.load(weights_only=True)`: a file whose unpickling would run code is refused, and one
whose bytes changed since this project wrote it (its embedded SHA-256) is damaged, not loaded.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from src.contracts.checksum import mismatch
from src.contracts.errors import UserError
from src.models.unpickling import code_in


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
    """A file whose unpickling would call code outside torch's weights-only allowlist: refused, never loaded."""

    def __init__(self, path: Path, culprit: str, advice: str):
        super().__init__(f"{path}: refused to load: unpickling it would call {culprit}, which could run code; {advice}")
        self.culprit = culprit


class DamagedCheckpointError(UserError):
    """A file that is not a readable PyTorch file (truncated, garbled, bit rot, not a checkpoint at all)."""

    def __init__(self, path: Path, reason: str, option: str = "ckpt"):
        super().__init__(
            f"{path}: cannot read checkpoint ({reason}); the file is damaged or not a PyTorch checkpoint: pass "
            f"{option}= a checkpoint written by this project or an official EDSR .pt file"
        )
        self.reason = reason


def _reason(err: BaseException) -> str:
    """What went wrong, in a few words: torch's messages run to paragraphs of advice that does not apply."""
    if isinstance(err, pickle.UnpicklingError):
        return "its pickle data is garbled"
    text = " ".join(str(err).split())
    first = text.split(". ")[0][:160] if text else ""
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def read_checkpoint(path: Path, option: str = "ckpt") -> object:
    """`torch.load(weights_only=True)` with one-line errors that name the file and the option (`ckpt`,
    `init_from`) to fix. A zip must match its CRC-32s and the SHA-256 this project embeds; a file torch refuses
    is called code only if its pickle really calls something outside the allowlist, else damaged."""
    path = Path(path)
    if path.is_dir() or (path.exists() and not path.is_file()):
        raise DamagedCheckpointError(path, "a folder, not a file" if path.is_dir() else "not a regular file", option)
    if not path.is_file():
        raise UserError(f"{option}={path}: no such checkpoint file; pass {option}= an existing .ckpt or .pt file")
    changed = mismatch(path)
    if changed:
        raise DamagedCheckpointError(path, changed, option)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        culprit = code_in(path)
        if culprit:
            advice = f"pass {option}= a checkpoint written by this project or an official EDSR state dict"
            raise UnsafeCheckpointError(path, culprit, advice) from None
        raise DamagedCheckpointError(path, _reason(err), option) from None


def read_state_dict(path: Path, option: str = "ckpt") -> tuple[dict[str, torch.Tensor], dict | None]:
    """The network's state dict from an official `.pt` state dict or a Lightning checkpoint of ours, and the
    identity of the job that wrote it (None for files without one, such as the official EDSR weights)."""
    obj = read_checkpoint(path, option)
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        # Lightning checkpoint of SRModule: the network's weights live under "net.".
        return {k[4:]: v for k, v in obj["state_dict"].items() if k.startswith("net.")}, obj.get(IDENTITY_KEY)
    if isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj, None
    raise UserError(f"{path}: no state dict inside; pass {option}= an official EDSR .pt or a checkpoint of ours")


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

    Another architecture (RCAN weights for EDSR) is refused, however many of its tensors happen to fit; so
    is a source of which fewer than half of the network's tensors fit (another size), rather than trained on.
    Neighbours (x2 for x4, ReLU for Mish, which share every tensor) load.
    """
    own = model.state_dict()
    check_architecture(model, state, source)
    take = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if 2 * len(take) < len(own):
        raise UserError(
            f"init_from={source}: only {len(take)} of the network's {len(own)} tensors fit; start from a "
            "checkpoint of the same model= preset (size), or drop init_from"
        )
    model.load_state_dict(take, strict=False)
    return [k for k in own if k not in take]


def _layout(key: str) -> str:
    """A state-dict key with its indices blanked (`body.#.body.#.weight`): where in a network it sits, whatever
    the depth, scale or activation (PReLU's slopes sit where the convolutions of the same block do)."""
    return ".".join("#" if part.isdigit() else part for part in key.split("."))


def check_architecture(model: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> None:
    """Refuse weights of another architecture: keys whose place (`_layout`) the network does not have."""
    places = {_layout(k) for k in model.state_dict()}
    foreign = [k for k in state if _layout(k) not in places]
    if foreign:
        raise UserError(
            f"init_from={source}: its weights are another architecture than this {type(model).__name__} "
            f"({len(foreign)} of its {len(state)} tensors have no place here, e.g. {foreign[0]}); start from a "
            "checkpoint of the same model, or drop init_from"
        )

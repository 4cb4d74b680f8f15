"""RCAN matches EDSR-PyTorch's model/rcan.py: parameter counts, state_dict keys, forward, weight loading."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from src.contracts.errors import UserError
from src.models.activations import ACTIVATIONS
from src.models.edsr import count_trainable
from src.models.rcan import RCAN
from src.models.weights import load_weights
from tests.helpers import assert_relu_file_loads_into

PAPER = {"n_resgroups": 10, "n_resblocks": 20, "n_feats": 64, "reduction": 16}
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def _published_count(scale: int, n_resgroups=10, n_resblocks=20, n_feats=64, reduction=16) -> int:
    """Trainable parameters layer by layer from the paper's structure (the frozen mean shifts excluded)."""
    f, squeezed = n_feats, n_feats // reduction
    rcab = 2 * _conv(f, f, 3) + _conv(f, squeezed, 1) + _conv(squeezed, f, 1)
    group = n_resblocks * rcab + _conv(f, f, 3)
    upsampler = {2: _conv(f, 4 * f, 3), 3: _conv(f, 9 * f, 3), 4: 2 * _conv(f, 4 * f, 3)}[scale]
    return _conv(3, f, 3) + n_resgroups * group + _conv(f, f, 3) + upsampler + _conv(f, 3, 3)


def official_shapes(scale: int, n_resgroups=10, n_resblocks=20, n_feats=64, reduction=16) -> dict[str, tuple]:
    """Every key of EDSR-PyTorch's RCAN state dict with its shape, written out from model/rcan.py."""
    f, squeezed = n_feats, n_feats // reduction
    convs: dict[str, tuple[int, int, int]] = {"sub_mean": (3, 3, 1), "add_mean": (3, 3, 1), "head.0": (f, 3, 3)}
    for g in range(n_resgroups):
        for b in range(n_resblocks):
            block = f"body.{g}.body.{b}.body"
            convs |= {f"{block}.0": (f, f, 3), f"{block}.2": (f, f, 3)}
            convs |= {f"{block}.3.conv_du.0": (squeezed, f, 1), f"{block}.3.conv_du.2": (f, squeezed, 1)}
        convs[f"body.{g}.body.{n_resblocks}"] = (f, f, 3)
    convs[f"body.{n_resgroups}"] = (f, f, 3)
    stages = {2: [4], 3: [9], 4: [4, 4]}[scale]
    convs |= {f"tail.0.{2 * i}": (r * f, f, 3) for i, r in enumerate(stages)}
    convs["tail.1"] = (3, f, 3)
    shapes = {}
    for key, (c_out, c_in, k) in convs.items():
        shapes |= {f"{key}.weight": (c_out, c_in, k, k), f"{key}.bias": (c_out,)}
    return shapes


def official_state(scale: int, seed: int = 0, **size: int) -> dict[str, torch.Tensor]:
    """A seeded state dict in that layout: small weights (like a trained net's residual branches), and the
    mean shifts EDSR-PyTorch writes (identity, -/+ 255 x the DIV2K mean)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in official_shapes(scale, **size).items():
        fan_in = shape[1] * shape[2] * shape[3] if len(shape) == 4 else state[key[:-4] + "weight"][0].numel()
        state[key] = (torch.rand(shape, generator=gen) * 2 - 1) / fan_in**0.5
    eye = torch.eye(3).view(3, 3, 1, 1)
    state |= {"sub_mean.weight": eye, "sub_mean.bias": -255 * torch.tensor(DIV2K_MEAN)}
    return state | {"add_mean.weight": eye.clone(), "add_mean.bias": 255 * torch.tensor(DIV2K_MEAN)}


def rcan_pytorch_forward(sd: dict, x: torch.Tensor, n_resgroups: int, n_resblocks: int) -> torch.Tensor:
    """EDSR-PyTorch's RCAN forward (x2) written out from the raw state dict, independent of src.models."""

    def conv(t, key, pad=1):
        return F.conv2d(t, sd[f"{key}.weight"], sd[f"{key}.bias"], padding=pad)

    x = conv(conv(x, "sub_mean", 0), "head.0")
    res = x
    for g in range(n_resgroups):
        group_in = res
        for b in range(n_resblocks):
            p = f"body.{g}.body.{b}.body"
            y = conv(F.relu(conv(res, f"{p}.0")), f"{p}.2")
            squeeze = F.relu(conv(y.mean((2, 3), keepdim=True), f"{p}.3.conv_du.0", 0))
            res = res + y * torch.sigmoid(conv(squeeze, f"{p}.3.conv_du.2", 0))
        res = group_in + conv(res, f"body.{g}.body.{n_resblocks}")
    res = x + conv(res, f"body.{n_resgroups}")
    return conv(conv(F.pixel_shuffle(conv(res, "tail.0.0"), 2), "tail.1"), "add_mean", 0)


# Literal counts (the published structure, counted above), so that a wrong count formula fails too.
EXPECTED = {2: (15_444_643, 1632), 3: (15_629_283, 1632), 4: (15_592_355, 1634)}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts_and_keys_are_the_official_ones(scale: int) -> None:
    params, n_keys = EXPECTED[scale]
    assert _published_count(scale) == params
    model = RCAN(scale)
    assert count_trainable(model) == params
    official = official_shapes(scale)
    assert len(official) == n_keys
    # The same keys with the same shapes: official files of this size load with strict=True.
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official


# Two groups of three RCABs in the official layout: every activation variant loads it (ReLU weights into Mish
# etc.); PReLU's slopes are the only keys a ReLU file lacks.
SMALL = {"n_resgroups": 2, "n_resblocks": 3, "n_feats": 16, "reduction": 4}


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_an_official_relu_state_dict_loads_into_every_variant(act: str) -> None:
    state = official_state(2, **SMALL)
    slopes = {f"body.{g}.body.{b}.body.1.weight" for g in range(2) for b in range(3)}
    assert_relu_file_loads_into(RCAN(2, **SMALL, act=act), state, "RCAN_BIX2.pt", act, slopes)


def test_the_forward_is_edsr_pytorchs() -> None:
    state = official_state(2, seed=1, **SMALL)
    model = RCAN(2, **SMALL)
    model.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(2)) * 255
    with torch.no_grad():
        assert torch.allclose(model(x), rcan_pytorch_forward(state, x, 2, 3), atol=1e-3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_scale_times_larger(scale: int) -> None:
    out = RCAN(scale, 1, 2, 8, 4)(torch.rand(2, 3, 7, 9) * 255)
    assert out.shape == (2, 3, 7 * scale, 9 * scale)


def _activations(model: nn.Module) -> list[type]:
    kinds = (nn.ReLU, nn.Mish, nn.LeakyReLU, nn.SiLU, nn.PReLU, nn.Sigmoid)
    return [type(m) for m in model.modules() if isinstance(m, kinds)]


def test_the_swap_reaches_the_rcabs_and_with_scope_all_the_attention_squeeze() -> None:
    blocks = _activations(RCAN(2, 2, 3, 8, 4, act="mish"))
    assert blocks.count(nn.Mish) == 6 and blocks.count(nn.ReLU) == 6 and blocks.count(nn.Sigmoid) == 6
    every = RCAN(2, 2, 3, 8, 4, act="prelu", act_scope="all")
    assert _activations(every).count(nn.PReLU) == 12 and nn.ReLU not in _activations(every)
    assert every.body[0].body[0].body[3].conv_du[1].weight.shape == (2,)  # one slope per squeezed channel
    load_weights(every, official_state(2, n_resgroups=2, n_resblocks=3, n_feats=8, reduction=4), "RCAN_BIX2.pt")
    with pytest.raises(UserError, match=r"activation\.scope='attention' is unknown"):
        RCAN(2, 1, 1, 8, 4, act_scope="attention")
    with pytest.raises(UserError, match="n_feats 8 // reduction 16 leaves no channel"):
        RCAN(2, 1, 1, 8, 16)


def test_receptive_radius_counts_the_3x3_convolutions_of_the_structure() -> None:
    # head + groups x (2 per RCAB + group conv) + body conv + upsampler convs + tail conv
    assert RCAN(2, 3, 4, 8, 4).receptive_radius() == 1 + 3 * (2 * 4 + 1) + 1 + 1 + 1
    assert RCAN(4, 3, 4, 8, 4).receptive_radius() == 1 + 3 * (2 * 4 + 1) + 1 + 2 + 1

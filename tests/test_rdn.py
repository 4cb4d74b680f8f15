"""RDN matches EDSR-PyTorch's model/rdn.py: parameter counts, state_dict keys, forward, weight loading."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from src.models.activations import ACTIVATIONS
from src.models.edsr import count_trainable
from src.models.inference import tiled
from src.models.rdn import RDN
from tests.helpers import assert_relu_file_loads_into


def _conv(c_in: int, c_out: int, k: int) -> int:
    return c_in * c_out * k * k + c_out


def _published_count(scale: int, D=16, C=8, G=64, G0=64) -> int:
    """Trainable parameters layer by layer from the paper's configuration B (D blocks of C layers, growth G)."""
    block = sum(_conv(G0 + c * G, G, 3) for c in range(C)) + _conv(G0 + C * G, G0, 1)
    upsampler = {2: _conv(G0, 4 * G, 3), 3: _conv(G0, 9 * G, 3), 4: _conv(G0, 4 * G, 3) + _conv(G, 4 * G, 3)}[scale]
    fusion = _conv(D * G0, G0, 1) + _conv(G0, G0, 3)
    return _conv(3, G0, 3) + _conv(G0, G0, 3) + D * block + fusion + upsampler + _conv(G, 3, 3)


def official_shapes(scale: int, D=16, C=8, G=64, G0=64) -> dict[str, tuple]:
    """Every key of EDSR-PyTorch's RDN state dict with its shape, written out from model/rdn.py."""
    convs: dict[str, tuple[int, int, int]] = {"SFENet1": (G0, 3, 3), "SFENet2": (G0, G0, 3)}
    for d in range(D):
        convs |= {f"RDBs.{d}.convs.{c}.conv.0": (G, G0 + c * G, 3) for c in range(C)}
        convs[f"RDBs.{d}.LFF"] = (G0, G0 + C * G, 1)
    convs |= {"GFF.0": (G0, D * G0, 1), "GFF.1": (G0, G0, 3)}
    if scale == 4:
        convs |= {"UPNet.0": (4 * G, G0, 3), "UPNet.2": (4 * G, G, 3), "UPNet.4": (3, G, 3)}
    else:
        convs |= {"UPNet.0": (scale * scale * G, G0, 3), "UPNet.2": (3, G, 3)}
    shapes = {}
    for key, (c_out, c_in, k) in convs.items():
        shapes |= {f"{key}.weight": (c_out, c_in, k, k), f"{key}.bias": (c_out,)}
    return shapes


def official_state(scale: int, seed: int = 0, **size: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in official_shapes(scale, **size).items():
        fan_in = shape[1] * shape[2] * shape[3] if len(shape) == 4 else state[key[:-4] + "weight"][0].numel()
        state[key] = (torch.rand(shape, generator=gen) * 2 - 1) / fan_in**0.5
    return state


def rdn_pytorch_forward(sd: dict, x: torch.Tensor, D: int, C: int) -> torch.Tensor:
    """EDSR-PyTorch's RDN forward (x2) written out from the raw state dict, independent of src.models."""

    def conv(t, key, pad=1):
        return F.conv2d(t, sd[f"{key}.weight"], sd[f"{key}.bias"], padding=pad)

    shallow = conv(x, "SFENet1")
    h, outputs = conv(shallow, "SFENet2"), []
    for d in range(D):
        features = h
        for c in range(C):
            features = torch.cat((features, F.relu(conv(features, f"RDBs.{d}.convs.{c}.conv.0"))), 1)
        h = h + conv(features, f"RDBs.{d}.LFF", 0)
        outputs.append(h)
    fused = conv(conv(torch.cat(outputs, 1), "GFF.0", 0), "GFF.1") + shallow
    return conv(F.pixel_shuffle(conv(fused, "UPNet.0"), 2), "UPNet.2")


# Literal counts (configuration B counted above), so that a wrong count formula fails too.
EXPECTED = {2: (22_123_395, 300), 3: (22_308_035, 300), 4: (22_271_107, 302)}
SMALL = {"n_resblocks": 2, "n_layers": 3, "growth": 8, "n_feats": 16}
SMALL_PAPER_NAMES = {"D": 2, "C": 3, "G": 8, "G0": 16}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts_and_keys_are_the_official_ones(scale: int) -> None:
    params, n_keys = EXPECTED[scale]
    assert _published_count(scale) == params
    model = RDN(scale)
    assert count_trainable(model) == params
    official = official_shapes(scale)
    assert len(official) == n_keys
    # The same keys with the same shapes: files in EDSR-PyTorch's RDN layout load with strict=True.
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == official


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_an_official_relu_state_dict_loads_into_every_variant(act: str) -> None:
    state = official_state(2, **SMALL_PAPER_NAMES)
    slopes = {f"RDBs.{d}.convs.{c}.conv.1.weight" for d in range(2) for c in range(3)}
    assert_relu_file_loads_into(RDN(2, **SMALL, act=act), state, "rdn_x2.pt", act, slopes)


def test_the_forward_is_edsr_pytorchs() -> None:
    state = official_state(2, seed=1, **SMALL_PAPER_NAMES)
    model = RDN(2, **SMALL)
    model.load_state_dict(state, strict=True)
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(2)) * 255
    with torch.no_grad():
        assert torch.allclose(model(x), rdn_pytorch_forward(state, x, 2, 3), atol=1e-3)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_scale_times_larger(scale: int) -> None:
    out = RDN(scale, 1, 2, 4, 8)(torch.rand(2, 3, 7, 9) * 255)
    assert out.shape == (2, 3, 7 * scale, 9 * scale)


def test_the_dense_layers_relus_are_the_only_activations_and_all_are_swapped() -> None:
    kinds = (nn.ReLU, nn.Mish, nn.LeakyReLU, nn.SiLU, nn.PReLU, nn.Sigmoid)
    found = [type(m) for m in RDN(2, **SMALL, act="mish").modules() if isinstance(m, kinds)]
    assert found == [nn.Mish] * 6


def test_tiles_with_the_receptive_radius_as_context_reproduce_the_whole_image() -> None:
    torch.manual_seed(0)
    net = RDN(2, 2, 2, 4, 8).eval()
    # SFE 2 + D x C + GFF 3x3 + upsampler conv + final conv
    assert net.receptive_radius() == 2 + 2 * 2 + 1 + 1 + 1
    assert RDN(4, 2, 2, 4, 8).receptive_radius() == 2 + 2 * 2 + 1 + 2 + 1
    lr = torch.rand(1, 3, 21, 19) * 255
    with torch.no_grad():
        whole = net(lr)
        exact = tiled(net, lr, 2, 6, net.receptive_radius())
        short = tiled(net, lr, 2, 6, net.receptive_radius() - 3)
    assert torch.allclose(exact, whole, atol=1e-3)
    assert not torch.allclose(short, whole, atol=1e-3)

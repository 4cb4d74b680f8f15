"""EDSR matches the official network: parameter counts, state_dict layout, weight loading per activation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from src.contracts.errors import UserError
from src.models.activations import ACTIVATIONS, activation_label, make_activation
from src.models.edsr import EDSR, count_trainable
from src.models.weights import load_fitting, load_weights, read_state_dict

PRESETS = {
    "edsr_baseline": {"n_resblocks": 16, "n_feats": 64, "res_scale": 1.0},
    "edsr": {"n_resblocks": 32, "n_feats": 256, "res_scale": 0.1},
}

# docs/protocol.md (counted from EDSR-PyTorch's model/edsr.py): trainable parameters (MeanShift excluded)
# and state_dict key counts of the official models.
EXPECTED = {
    ("edsr_baseline", 2): (1_369_859, 76),
    ("edsr_baseline", 3): (1_554_499, 76),
    ("edsr_baseline", 4): (1_517_571, 78),
    ("edsr", 2): (40_729_603, 140),
    ("edsr", 3): (43_680_003, 140),
    ("edsr", 4): (43_089_923, 142),
}


@pytest.mark.parametrize(("preset", "scale"), list(EXPECTED))
def test_parameter_and_key_counts_match_the_official_models(preset: str, scale: int) -> None:
    model = EDSR(scale, **PRESETS[preset])
    params, keys = EXPECTED[(preset, scale)]
    assert count_trainable(model) == params
    assert len(model.state_dict()) == keys


def test_state_dict_layout_is_the_official_one() -> None:
    keys = list(EDSR(4).state_dict())
    assert keys[:6] == [
        "sub_mean.weight",
        "sub_mean.bias",
        "add_mean.weight",
        "add_mean.bias",
        "head.0.weight",
        "head.0.bias",
    ]
    assert "body.0.body.0.weight" in keys and "body.15.body.2.bias" in keys and "body.16.weight" in keys
    assert keys[-6:] == [
        "tail.0.0.weight",
        "tail.0.0.bias",
        "tail.0.2.weight",
        "tail.0.2.bias",
        "tail.1.weight",
        "tail.1.bias",
    ]
    assert "tail.0.0.weight" in EDSR(3).state_dict() and "tail.0.2.weight" not in EDSR(3).state_dict()


def test_mean_shift_is_frozen_and_subtracts_the_div2k_mean() -> None:
    model = EDSR(2)
    assert not any(p.requires_grad for p in model.sub_mean.parameters())
    x = torch.full((1, 3, 2, 2), 255.0)
    expected = 255 * (1 - torch.tensor([0.4488, 0.4371, 0.4040]))
    assert torch.allclose(model.sub_mean(x)[0, :, 0, 0], expected)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_is_scale_times_larger(scale: int) -> None:
    out = EDSR(scale, n_resblocks=2, n_feats=8)(torch.rand(2, 3, 7, 9) * 255)
    assert out.shape == (2, 3, 7 * scale, 9 * scale)


def test_the_block_activation_is_the_only_activation() -> None:
    model = EDSR(2, n_resblocks=3, n_feats=8, act="mish")
    acts = [m for m in model.modules() if isinstance(m, (nn.ReLU, nn.Mish, nn.LeakyReLU, nn.SiLU, nn.PReLU))]
    assert len(acts) == 3 and all(isinstance(a, nn.Mish) for a in acts)


def test_activations_are_the_papers_functions() -> None:
    x = torch.linspace(-4, 4, 101)
    assert torch.allclose(make_activation("lrelu", 1)(x.clone()), torch.where(x > 0, x, 0.01 * x))
    assert torch.allclose(make_activation("swish", 1)(x), x * torch.sigmoid(x))
    assert torch.allclose(make_activation("mish", 1)(x), x * torch.tanh(nn.functional.softplus(x)))
    assert make_activation("prelu", 64).weight.shape == (64,)
    with pytest.raises(ValueError, match="unknown activation 'tanhh'"):
        make_activation("tanhh", 4)


def test_activation_labels_name_non_default_parameters() -> None:
    assert activation_label("lrelu", negative_slope=0.01) == "lrelu"
    assert activation_label("lrelu", negative_slope=0.2) == "lrelu(0.2)"
    assert activation_label("mish") == "mish"


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_an_official_relu_weight_file_loads_into_every_variant(act: str, tmp_path) -> None:
    torch.manual_seed(0)
    official = EDSR(2)  # ReLU, the layout of edsr_baseline_x2-1bc95232.pt
    path = tmp_path / "edsr_baseline_x2.pt"
    torch.save(official.state_dict(), path)
    state, _ = read_state_dict(path)
    variant = EDSR(2, act=act)
    if act != "prelu":
        variant.load_state_dict(state, strict=True)
    load_weights(variant, state, path)
    for key, value in state.items():
        assert torch.equal(variant.state_dict()[key], value), key
    extra = set(variant.state_dict()) - set(state)
    assert extra == ({f"body.{i}.body.1.weight" for i in range(16)} if act == "prelu" else set())


def test_a_checkpoint_for_another_scale_is_refused_with_the_differences(tmp_path) -> None:
    path = tmp_path / "x2.pt"
    torch.save(EDSR(2).state_dict(), path)
    with pytest.raises(UserError, match=r"2 missing key\(s\) e.g. tail.0.2.weight.*model= preset and scale=") as info:
        load_weights(EDSR(4), read_state_dict(path)[0], path)
    assert "\n" not in str(info.value)


def test_x4_starts_from_x2_weights_except_the_second_upsampling_stage() -> None:
    x2, x4 = EDSR(2, n_resblocks=2, n_feats=8), EDSR(4, n_resblocks=2, n_feats=8)
    fresh = load_fitting(x4, x2.state_dict())
    assert fresh == ["tail.0.2.weight", "tail.0.2.bias"]
    assert torch.equal(x4.state_dict()["tail.0.0.weight"], x2.state_dict()["tail.0.0.weight"])

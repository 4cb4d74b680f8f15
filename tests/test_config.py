"""Hydra composition: every activation x scale, presets, experiments, and a config change without code."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from src.contracts import resolvers
from src.models.edsr import EDSR, count_trainable

resolvers.register()  # before Hydra composes any config

CONF = str(Path(__file__).resolve().parents[1] / "conf")


def _compose(*overrides: str):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose(config_name="train", overrides=list(overrides))


@pytest.mark.parametrize("scale", [2, 4])
@pytest.mark.parametrize("activation", ["relu", "lrelu", "swish", "mish"])
def test_every_activation_and_scale_composes_into_the_right_network(activation: str, scale: int) -> None:
    cfg = _compose(f"activation={activation}", f"scale={scale}")
    assert cfg.scale == scale and cfg.model.net.scale == scale and cfg.data.scale == scale
    assert cfg.model.net.act == activation
    net = instantiate(cfg.model.net)
    assert isinstance(net, EDSR)
    assert count_trainable(net) == {2: 1_369_859, 4: 1_517_571}[scale] + 0
    assert (
        type(net.body[0].body[1]).__name__
        == {"relu": "ReLU", "lrelu": "LeakyReLU", "swish": "SiLU", "mish": "Mish"}[activation]
    )


def test_lrelu_slope_is_the_papers_and_configurable() -> None:
    assert _compose("activation=lrelu").activation.params.negative_slope == 0.01
    net = instantiate(_compose("activation=lrelu", "activation.params.negative_slope=0.2").model.net)
    assert net.body[0].body[1].negative_slope == 0.2


@pytest.mark.parametrize("activation", ["gelu", "elu", "prelu"])
def test_extended_activations_compose(activation: str) -> None:
    net = instantiate(_compose(f"activation={activation}", "model.net.n_resblocks=2").model.net)
    assert net.body[0].body[1] is not net.body[1].body[1]


def test_paper_experiment_is_the_full_edsr_schedule() -> None:
    cfg = _compose("experiment=paper", "scale=4")
    assert cfg.model.name == "edsr" and cfg.model.net.n_feats == 256 and cfg.model.net.res_scale == 0.1
    assert cfg.trainer.max_steps == 300_000 and list(cfg.optim.milestones) == [200_000]
    assert cfg.data.batch_size == 16 and cfg.data.patch_size == 48 and cfg.data.steps_per_epoch == 1000
    assert list(cfg.data.test_sets) == ["DIV2K", "Set5", "Set14", "B100", "Urban100"]


def test_smoke_experiment_validates_on_the_test_sets() -> None:
    cfg = _compose("experiment=smoke", "data.test_sets=[Set5]")
    assert list(cfg.data.val_sets) == ["Set5"] and cfg.trainer.max_steps <= 20


def test_scale_and_seed_are_top_level_ints() -> None:
    cfg = _compose("scale=3", "seed=7")
    assert OmegaConf.select(cfg, "scale") == 3 and cfg.data.seed == 7
    assert "scale" not in OmegaConf.to_container(cfg.model)  # interpolated, one home


def test_the_cuda_fast_path_is_on_by_default_on_gpus_only() -> None:
    from src.runtime import fast_path

    gpu = fast_path.resolve(_compose("trainer=gpu").fast, _compose("trainer=gpu").trainer)
    assert gpu == fast_path.FastPath("bf16-mixed", True, True, True, False)
    cpu_cfg = _compose("trainer=cpu")
    assert fast_path.resolve(cpu_cfg.fast, cpu_cfg.trainer) == fast_path.FastPath("32-true", False, False, False, False)
    forced = _compose("trainer=gpu", "fast.precision=16-mixed", "fast.compile=true")
    assert fast_path.resolve(forced.fast, forced.trainer).precision == "16-mixed"
    assert fast_path.resolve(forced.fast, forced.trainer).compile


def test_the_edsr_presets_differ_only_in_their_size() -> None:
    """model/edsr_baseline and model/edsr_demo inherit model/edsr (Hydra defaults) and change its sizes."""
    nets = {m: OmegaConf.to_container(_compose(f"model={m}").model.net) for m in ("edsr", "edsr_baseline", "edsr_demo")}
    sizes = {"n_resblocks": (32, 16, 4), "n_feats": (256, 64, 32), "res_scale": (0.1, 1.0, 1.0)}
    for i, net in enumerate(nets.values()):
        assert {k: net.pop(k) for k in sizes} == {k: v[i] for k, v in sizes.items()}
    assert nets["edsr"] == nets["edsr_baseline"] == nets["edsr_demo"]


def test_the_test_sets_are_listed_once() -> None:
    conf = Path(CONF)
    homes = [p.relative_to(conf) for p in conf.rglob("*.yaml") if "Urban100" in p.read_text()]
    assert homes == [Path("data/sr.yaml")]
    for experiment in ("paper", "rcan_paper", "rdn_paper"):
        assert list(_compose(f"experiment={experiment}").data.test_sets) == [
            "DIV2K",
            "Set5",
            "Set14",
            "B100",
            "Urban100",
        ]

"""The report reads activations from the registry only: a new entry reaches the table and the plot untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from src.models import activations
from src.models.activations import ACTIVATIONS, Activation
from src.report import plots
from tests.test_report import activation_images, make_job, run_main, write_job

CONF = Path(__file__).resolve().parents[1] / "conf" / "activation"


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_every_registered_activation_has_a_name_a_formula_and_a_config(name: str) -> None:
    entry = ACTIVATIONS[name]
    assert isinstance(entry.display, str) and entry.display.strip()
    values = entry.formula(np.array([-1.0, 0.0, 1.0]), **entry.defaults)
    assert np.all(np.isfinite(values)) and values.shape == (3,)
    config = yaml.safe_load((CONF / f"{name}.yaml").read_text())
    assert config["name"] == name
    assert set(config.get("params") or {}) == set(entry.defaults)


def test_a_new_registry_entry_shows_in_the_table_header_and_the_plot_legend(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A throwaway activation: one registry entry and its config file, nothing in src/report/.
    softsign = Activation("Softsign", lambda n_feats: None, lambda x: x / (1.0 + np.abs(x)))
    monkeypatch.setitem(ACTIVATIONS, "softsign", softsign)
    conf = tmp_path / "conf" / "softsign.yaml"
    conf.parent.mkdir()
    conf.write_text("name: softsign\nparams: {}\n")
    sweep = tmp_path / "sweep"
    for act in ("relu", "softsign"):
        job = make_job(act, 2, 0, activation_images("relu", 2, 0))
        job["config"]["activation"] = yaml.safe_load(conf.read_text()) if act == "softsign" else {"name": "relu"}
        write_job(sweep, act, job)
    code, out, _ = run_main([str(sweep)])
    assert code == 0
    assert "| Scale | Set | ReLU | Softsign |" in out
    assert "no formula" not in out and (sweep / "report" / "activations.png").is_file()
    figure, unknown = plots.activation_figure({"relu": {}, "softsign": {}})
    (axes,) = figure.axes
    assert unknown == [] and [t.get_text() for t in axes.get_legend().get_texts()] == ["ReLU", "Softsign"]
    assert activations.activation_order("softsign") > activations.activation_order("relu")

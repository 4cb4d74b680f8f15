"""`python -m src.dashboard`: W&B views and report of a real smoke sweep, offline (dry run) and with no network."""

from __future__ import annotations

import http.server
import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import PROJECT_ROOT, run_cli
from tests.wandb_records import read_run

pytest.importorskip("wandb_workspaces", reason='the optional extra is not installed: pip install -e ".[dashboards]"')

pytestmark = pytest.mark.slow

SPEC = Path("report") / "wandb_dashboard.json"


@pytest.fixture(scope="module")
def sweep(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two jobs logged to W&B offline; lrelu_0.2 makes an activation parameter part of the grouping."""
    out = tmp_path_factory.mktemp("dashboard") / "sweep"
    proc = run_cli(
        "src.train",
        "-m",
        "activation=relu,lrelu_0.2",
        "scale=2",
        "experiment=smoke",
        f"paths.data_dir={data_root}",
        "data.test_sets=[Set5]",
        f"hydra.sweep.dir={out}",
        "logger=wandb",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _no_credentials(tmp_path: Path) -> dict[str, str]:
    """An environment where W&B finds no API key: no WANDB_API_KEY and a HOME without a netrc."""
    env = {k: v for k, v in os.environ.items() if k not in ("WANDB_API_KEY", "NETRC")}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**env, "HOME": str(home)}


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _dry_run(sweep: Path, tmp_path: Path) -> dict[str, Any]:
    before = _files(sweep)
    proc = run_cli("src.dashboard", str(sweep), env=_no_credentials(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dry run (no W&B credentials" in proc.stdout and "wandb login" in proc.stdout
    after = _files(sweep)
    assert set(after) - set(before) <= {str(SPEC)}
    assert {k: v for k, v in after.items() if k != str(SPEC)} == {k: v for k, v in before.items() if k != str(SPEC)}
    return json.loads((sweep / SPEC).read_text())


def _walk(node: Any, found: dict[str, list]) -> None:
    """Panels (dicts with a viewType), run sets (dicts with a runFeed) and the summary keys that tables read
    (Weave `key` constants) anywhere in a serialised spec."""
    if isinstance(node, dict):
        if "viewType" in node:
            found["panels"].append(node)
        if "runFeed" in node:
            found["runsets"].append(node)
        key = node.get("key")
        if isinstance(key, dict) and key.get("nodeType") == "const":
            found["tables"].append(key["val"])
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _has_config(config: dict[str, Any], backend_name: str) -> bool:
    """W&B addresses nested config `a.b` as `a.value.b` (and a column of `a` as `a.value`)."""
    value: Any = config
    for part in [p for i, p in enumerate(backend_name.split(".")) if not (i > 0 and p == "value")]:
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def test_every_key_in_a_panel_was_logged_by_the_runs(sweep: Path, tmp_path: Path) -> None:
    document = _dry_run(sweep, tmp_path)
    runs = [read_run(path) for path in sorted(sweep.glob("*/wandb/offline-run-*"))]
    assert len(runs) == 2
    found: dict[str, list] = {"panels": [], "runsets": [], "tables": []}
    _walk(document, found)
    history = set.intersection(*(run["history_keys"] for run in runs))
    summary = set.intersection(*(set(run["summary"]) for run in runs))
    config_keys, summary_keys, history_keys, media_keys = set(), set(), set(), set()
    for panel in found["panels"]:
        config = panel["config"]
        history_keys.update(config.get("metrics", []))
        history_keys.update([config["xAxis"]] if "xAxis" in config else [])
        media_keys.update(config.get("mediaKeys", []))
        for column in config.get("columns", []):
            section, name = column["accessor"].split(":", 1)
            (config_keys if section == "config" else summary_keys).add(name)
    for runset in found["runsets"]:
        for column in runset["runFeed"]["columnOrder"]:
            section, name = column.split(":", 1)
            {"config": config_keys, "summary": summary_keys}.get(section, set()).add(name)
        config_keys.update(g["name"] for g in runset["grouping"] if g["section"] == "config")
        for leaf in runset["filters"]["filters"]:
            if leaf["key"]["name"] == "group":
                assert leaf["value"] == sweep.name == runs[0]["group"]
    assert {"val/Set5/psnr_y", "val/Set5/ssim_y", "train/loss", "train/lr"} <= history_keys
    assert {"test/Set5/psnr_y", "status", "train/steps"} <= summary_keys
    assert {"activation.value.name", "activation.value.params.negative_slope", "scale.value"} <= config_keys
    assert history_keys <= history, history_keys - history
    assert summary_keys <= summary, summary_keys - summary
    # W&B logs an image list or a table as a dict with a `_type` under its key.
    run_media = {k for k in media_keys if not k.startswith("report/")}
    assert run_media == {"val/crops"} and all(f"{k}/_type" in history for k in run_media)
    assert set(found["tables"]) == {"test/per_image"} and "test/per_image/_type" in summary
    # A parameter exists only in the runs of activations that have it (relu has no negative_slope).
    for key in config_keys:
        assert any(_has_config(run["config"], key) for run in runs), key
    assert all(_has_config(run["config"], "activation.value.name") for run in runs)
    # The report's images are src.report's plots, uploaded under these keys when publishing.
    assert media_keys - run_media == set(document["report_plots"]) and "report/delta_psnr" in media_keys
    assert "Table 1: activation functions in EDSR" in document["report"]["displayName"]


def test_views_sections_panels_and_grouping_are_the_librarys_own(sweep: Path) -> None:
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws
    from wandb_workspaces import expr

    from src.dashboard import spec
    from src.dashboard.sweep import read_sweep

    facts = read_sweep(sweep)
    views = spec.workspaces(facts, "team", "proj")
    assert [v.name for v in views] == [f"{sweep.name} x2"]
    view = views[0]
    assert all(isinstance(s, ws.Section) for s in view.sections) and len(view.sections) == 4
    curves = view.sections[0].panels
    assert all(isinstance(p, wr.LinePlot) and p.groupby_rangefunc == "minmax" for p in curves)
    assert {type(p) for p in view.sections[2].panels} == {wr.ParallelCoordinatesPlot, wr.RunComparer}
    assert all(isinstance(g, expr.Config) for g in view.runset_settings.groupby)
    report = spec.report(facts, "team", "proj", "| a |\n|---|\n| 1 |", ["delta_psnr"])
    assert isinstance(report, wr.Report)
    grids = [b for b in report.blocks if isinstance(b, wr.PanelGrid)]
    assert [g.runsets[0].name for g in grids] == ["plots", "x2"]
    assert spec.dump(view)["displayName"] == view.name


def test_no_network_is_one_line_and_leaves_the_sweep_alone(sweep: Path, tmp_path: Path) -> None:
    before = _files(sweep)
    env = {
        **_no_credentials(tmp_path),
        "WANDB_API_KEY": "f" * 40,
        "WANDB_BASE_URL": "http://127.0.0.1:9",  # the discard port: nothing listens there
    }
    proc = run_cli("src.dashboard", str(sweep), "--entity", "no-such-entity", "--project", "nope", env=env, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach W&B at http://127.0.0.1:9"), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert _files(sweep) == before


def test_a_server_that_refuses_is_one_line(sweep: Path, tmp_path: Path) -> None:
    """Network up, W&B not: every request fails, as with a wrong entity or project."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        do_POST = do_GET

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    before = _files(sweep)
    env = {
        **_no_credentials(tmp_path),
        "WANDB_API_KEY": "f" * 40,
        "WANDB_BASE_URL": f"http://127.0.0.1:{server.server_port}",
    }
    try:
        proc = run_cli("src.dashboard", str(sweep), "--entity", "bad", "--project", "bad", env=env, timeout=120)
    finally:
        server.shutdown()
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: W&B refused the dashboards for bad/bad: "), proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert _files(sweep) == before


def test_a_directory_without_wandb_jobs_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("src.dashboard", str(tmp_path), env=_no_credentials(tmp_path), timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: no training job logged to W&B under")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_without_the_extra_it_says_how_to_install_it(sweep: Path, tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "wandb_workspaces"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('not installed', name='wandb_workspaces')\n")
    env = {**_no_credentials(tmp_path), "PYTHONPATH": f"{shadow.parent}{os.pathsep}{PROJECT_ROOT}"}
    proc = run_cli("src.dashboard", str(sweep), env=env, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        'error: W&B dashboards need the optional extra (wandb_workspaces is missing): pip install -e ".[dashboards]"'
    )


def test_credentials_are_found_where_wandb_login_puts_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from src.dashboard.publish import has_credentials

    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_BASE_URL", raising=False)
    netrc = tmp_path / "netrc"
    monkeypatch.setenv("NETRC", str(netrc))
    assert not has_credentials()
    netrc.write_text("machine api.wandb.ai\n  login user\n  password " + "0" * 40 + "\n")
    netrc.chmod(0o600)
    assert has_credentials()
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.org")
    assert not has_credentials()
    monkeypatch.setenv("WANDB_API_KEY", "k")
    assert has_credentials()

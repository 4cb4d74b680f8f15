"""W&B credentials, reachability and publishing. Every failure is one line (a UserError), never a traceback."""

from __future__ import annotations

import contextlib
import netrc
import os
import re
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlparse

from src.contracts.errors import UserError

DEFAULT_BASE_URL = "https://api.wandb.ai"
CONNECT_TIMEOUT_S = 5.0


def base_url() -> str:
    return os.environ.get("WANDB_BASE_URL") or DEFAULT_BASE_URL


def has_credentials() -> bool:
    """An API key as W&B finds one: WANDB_API_KEY, or a netrc entry for the server (what `wandb login` writes)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc(os.environ.get("NETRC")).authenticators(urlparse(base_url()).hostname or "") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def check_reachable() -> None:
    """Fail fast when the server cannot be reached: W&B's own client retries for minutes before giving up."""
    url = urlparse(base_url())
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        raise UserError(
            f"cannot reach W&B at {base_url()} ({err.strerror or err}); check the network and WANDB_BASE_URL, "
            "or add --dry-run to write the specification offline"
        ) from None


@contextlib.contextmanager
def refusals(where: str):
    """Whatever W&B raises while publishing (bad key, entity or project, a server error) as one UserError line;
    W&B's own error lines are silenced, since they would repeat it over several lines."""
    os.environ["WANDB_SILENT"] = "true"
    try:
        yield
    except UserError:
        raise
    except Exception as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise UserError(
            f"W&B refused the dashboards for {where}: {first}; check --entity/--project and your API key "
            "(`wandb login`), or add --dry-run to write the specification offline"
        ) from None


def default_entity() -> str:
    import wandb

    entity = wandb.Api(timeout=30).default_entity
    if not entity:
        raise UserError("W&B has no default entity for this API key; pass --entity YOUR_TEAM_OR_USER")
    return entity


def log_plots(entity: str, project: str, group: str, job_type: str, plots: dict[str, Path]) -> None:
    """The report's plots as W&B images in one run of the sweep's group (reports show images a run logged).
    Its files go to a temporary directory, so the sweep's directory is left as it was."""
    import wandb

    run_id = re.sub(r"[^A-Za-z0-9_-]", "-", f"{group}-{job_type}")[:64]
    with tempfile.TemporaryDirectory() as tmp:
        run = wandb.init(
            entity=entity,
            project=project,
            group=group,
            job_type=job_type,
            name=f"{group} {job_type}",
            id=run_id,
            resume="allow",
            dir=tmp,
            mode="online",
            settings=wandb.Settings(init_timeout=60, silent=True),
        )
        run.log({key: wandb.Image(str(path), caption=path.name) for key, path in plots.items()})
        run.finish()

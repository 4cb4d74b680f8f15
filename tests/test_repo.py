"""The repository stands alone: no tracked file names a path of a build machine or a document users lack."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Home and work folders of build machines, and notebooks that live beside the checkout, not in it.
FORBIDDEN = re.compile(
    r"(?<![\w.])/(?:work|home/\w+|Users/\w+|root)/"
    r"|\.\./shared/(?!data/benchmark)"
    r"|\b(?:REFERENCE|DESIGN)\.md\b"
)
# CI's own script is where the benchmark sets beside the checkout are named, and this file names the patterns.
ALLOWED = {".ci/run", "tests/test_repo.py"}


def tracked_text_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files are unknown")
    files = []
    for name in filter(None, out.split("\0")):
        path = PROJECT_ROOT / name
        if name in ALLOWED or not path.is_file():
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        files.append(path)
    return files


def test_no_tracked_file_names_a_build_machine_path_or_an_outside_document() -> None:
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}:{number}: {line.strip()[:100]}"
        for path in tracked_text_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if FORBIDDEN.search(line)
    ]
    assert not hits, "\n".join(hits)


@pytest.mark.parametrize(
    "line",
    # Assembled from parts, so that this file does not itself hold what it looks for.
    [
        "see /" + "work/main/x",
        "from /home/alice/data",
        "/root/.cache/x",
        "read ../" + "shared/notes.txt",
        "(REFERENCE" + ".md)",
    ],
)
def test_the_check_catches(line: str) -> None:
    assert FORBIDDEN.search(line)


@pytest.mark.parametrize("line", ["data/benchmark", "a/" + "work/b", "docs/protocol.md", "~/.cache/srsweep"])
def test_the_check_lets_through(line: str) -> None:
    assert not FORBIDDEN.search(line)


def _src_files() -> list[Path]:
    return sorted((PROJECT_ROOT / "src").rglob("*.py"))


def test_no_function_in_src_is_longer_than_60_lines() -> None:
    """A long function does several things; name them as steps instead."""
    import ast

    long = [
        f"{path.relative_to(PROJECT_ROOT)}:{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _src_files()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno - node.lineno + 1 > 60
    ]
    assert long == []


@pytest.mark.parametrize("name", ["results.json", "checkpoints", "last.ckpt", "wandb_run_id", "job.lock", "table1.md"])
def test_a_job_folder_file_name_is_spelled_once_in_src(name: str) -> None:
    """RunDir/SweepDir own the job and sweep folders: code asks them for a path (comments may say the name)."""
    quoted = re.compile(rf"[\"']{re.escape(name)}[\"']")
    places = [
        f"{path.relative_to(PROJECT_ROOT)}:{i}"
        for path in _src_files()
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if quoted.search(line.split("#", 1)[0])
    ]
    assert len(places) == 1 and places[0].startswith("src/contracts/rundir.py:"), places

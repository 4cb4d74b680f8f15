"""The make_lr CLI: the published LR sets rebuilt bit for bit, and one-line errors that change nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from src.data.images import list_images, read_image, write_image
from src.data.make_lr import main
from tests.helpers import exit_code

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _compare_with_published(set_dir: Path, out_dir: Path) -> int:
    compared = 0
    for hr_path in list_images(set_dir / "HR"):
        for scale in (2, 3, 4):
            name = f"X{scale}/{hr_path.stem}x{scale}.png"
            made, published = read_image(out_dir / name), read_image(set_dir / "LR_bicubic" / name)
            assert made.shape == published.shape, name
            assert int((made != published).sum()) == 0, name
            compared += 1
    return compared


def test_rebuilds_the_published_lr_sets(benchmark_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # Set5 through the real command line in a fresh interpreter, Set14 through main().
    set5_out = tmp_path / "Set5"
    scales = ["--scale", "2", "--scale", "3", "--scale", "4"]
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.data.make_lr",
            str(benchmark_dir / "Set5" / "HR"),
            str(set5_out),
            *scales,
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [f"x{s}: wrote 5 LR images to {set5_out / f'X{s}'}" for s in (2, 3, 4)]

    set14_out = tmp_path / "Set14"
    assert (
        main(
            [
                str(benchmark_dir / "Set14" / "HR"),
                str(set14_out),
                "--scale",
                "4",
                "--scale",
                "2",
                "--scale",
                "3",
            ]
        )
        == 0
    )
    assert capsys.readouterr().out.count("wrote 14 LR images") == 3

    compared = _compare_with_published(benchmark_dir / "Set5", set5_out)
    compared += _compare_with_published(benchmark_dir / "Set14", set14_out)
    assert compared == 57
    # Grey stays single-channel, as in the published file.
    with Image.open(set14_out / "X2" / "bridgex2.png") as im:
        assert im.mode == "L"


@pytest.fixture
def hr_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hr"
    rng = np.random.default_rng(0)
    write_image(folder / "a.png", rng.integers(0, 256, (17, 23, 3), dtype=np.uint8))
    write_image(folder / "b.png", rng.integers(0, 256, (16, 12, 1), dtype=np.uint8))
    return folder


def _fails(argv: list[str], capsys: pytest.CaptureFixture, *needles: str) -> str:
    assert exit_code(main, argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.rglob("*") if p.is_file()
    }


def test_small_set_sizes_and_grey(hr_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "lr"
    assert main([str(hr_dir), str(out), "--scale", "3"]) == 0
    assert read_image(out / "X3" / "ax3.png").shape == (5, 7, 3)
    assert read_image(out / "X3" / "bx3.png").shape == (5, 4, 1)


def test_missing_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _fails([str(tmp_path / "nope"), str(tmp_path / "out"), "--scale", "2"], capsys, "nope", "no such directory")
    assert not (tmp_path / "out").exists()


def test_empty_dir(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    _fails([str(tmp_path / "empty"), str(tmp_path / "out"), "--scale", "2"], capsys, "empty", "no images")
    assert not (tmp_path / "out").exists()


def test_corrupt_image_is_named_and_nothing_is_left(
    hr_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    (hr_dir / "c_broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = tmp_path / "lr"
    _fails([str(hr_dir), str(out), "--scale", "2", "--scale", "4"], capsys, "c_broken.png", "corrupt")
    # a.png and b.png come first and were written before the broken file was reached; they are removed again.
    assert [p for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("scale", ["5", "1", "0", "-2", "2.5", "x", "8"])
def test_unsupported_scale(hr_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture, scale: str) -> None:
    _fails([str(hr_dir), str(tmp_path / "lr"), "--scale", scale], capsys, "unsupported scale", "2, 3, 4")
    assert not (tmp_path / "lr").exists()


def test_missing_arguments(capsys: pytest.CaptureFixture) -> None:
    _fails([], capsys, "required", "--help")


def test_refuses_to_overwrite(hr_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "lr"
    assert main([str(hr_dir), str(out), "--scale", "2"]) == 0
    capsys.readouterr()
    before = _snapshot(out)
    # X4 does not exist yet, but one existing X2 file is enough to refuse the whole run before writing any.
    _fails([str(hr_dir), str(out), "--scale", "4", "--scale", "2"], capsys, "ax2.png", "--force")
    assert _snapshot(out) == before
    assert not (out / "X4").exists()

    assert main([str(hr_dir), str(out), "--scale", "2", "--scale", "4", "--force"]) == 0
    assert "x4: wrote 2 LR images" in capsys.readouterr().out
    assert (out / "X4" / "bx4.png").is_file()


def test_checks_every_output_before_writing_any(hr_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "lr"
    write_image(out / "X2" / "bx2.png", np.zeros((8, 6), dtype=np.uint8))
    before = _snapshot(out)
    _fails([str(hr_dir), str(out), "--scale", "2"], capsys, "bx2.png", "already exists")
    assert _snapshot(out) == before
    assert not (out / "X2" / "ax2.png").exists()


def test_command_line_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "src.data.make_lr",
            str(tmp_path / "nope"),
            str(tmp_path / "out"),
            "--scale",
            "2",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert run.stderr.startswith("error: ")

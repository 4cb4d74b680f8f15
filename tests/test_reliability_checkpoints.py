"""Damaged checkpoints are recovered or named in one line, "could run code" is said only of code, bit rot is
caught by the checksum, and links are never followed out of a job (issue #26, items 1, 9 and 13)."""

from __future__ import annotations

import io
import os
import pickle
import random
from pathlib import Path

import pytest
import torch
from PIL import Image

from src.contracts.errors import UserError
from src.models.edsr import EDSR
from src.models.weights import DamagedCheckpointError, UnsafeCheckpointError, load_fitting, read_checkpoint
from src.runtime.checkpoints import AtomicCheckpointIO, prepare_resume
from tests.helpers import CodeRunningPickle


def _checkpoint(path: Path, step: int = 4) -> Path:
    """A checkpoint as training writes it (through AtomicCheckpointIO, so with its embedded checksum)."""
    state = {f"net.{k}": v for k, v in EDSR(2, n_resblocks=1, n_feats=8).state_dict().items()}
    AtomicCheckpointIO().save_checkpoint({"global_step": step, "state_dict": state}, path)
    return path


def _png(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buf, format="PNG")
    path.write_bytes(buf.getvalue())
    return path


NOT_CHECKPOINTS = {
    "hello": lambda p: p.write_text("hello"),
    "random": lambda p: p.write_bytes(random.Random(0).randbytes(4096)),
    "html": lambda p: p.write_text("<!DOCTYPE html><html><body>404 Not Found</body></html>"),
    "png": _png,
    "empty": lambda p: p.write_bytes(b""),
}


@pytest.mark.parametrize("kind", NOT_CHECKPOINTS)
def test_a_file_that_is_not_a_checkpoint_is_damaged_in_one_line_not_code(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "weights.ckpt"
    NOT_CHECKPOINTS[kind](path)
    for option in ("ckpt", "init_from"):
        with pytest.raises(DamagedCheckpointError) as info:
            read_checkpoint(path, option)
        message = str(info.value)
        assert "\n" not in message and "could run code" not in message and "weights_only" not in message
        assert message.startswith(f"{path}: cannot read checkpoint") and f"pass {option}=" in message


@pytest.mark.parametrize("kind", ["hello", "random", "html"])
def test_a_garbage_last_ckpt_is_set_aside_and_the_step_checkpoint_resumes(kind: str, tmp_path: Path) -> None:
    _checkpoint(tmp_path / "step600.ckpt", 600)
    NOT_CHECKPOINTS[kind](tmp_path / "last.ckpt")
    assert prepare_resume(tmp_path) == tmp_path / "last.ckpt"
    assert read_checkpoint(tmp_path / "last.ckpt")["global_step"] == 600
    assert len(list(tmp_path.glob("last.ckpt.damaged-*"))) == 1  # kept, not deleted


def test_only_a_pickle_that_calls_code_is_called_code_in_either_pickle_protocol(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    old = tmp_path / "p2.pt"
    torch.save({"state_dict": CodeRunningPickle(marker)}, old)
    new = tmp_path / "p4.pkl"
    new.write_bytes(pickle.dumps({"state_dict": CodeRunningPickle(marker)}, protocol=4))  # STACK_GLOBAL
    for path in (old, new):
        with pytest.raises(UnsafeCheckpointError, match=r"would call posix\.system, which could run code"):
            read_checkpoint(path)
    assert not marker.exists()


def _flipped(good: bytes, rng: random.Random) -> bytes:
    data = bytearray(good)
    for _ in range(rng.randint(1, 5)):
        bit = rng.randrange(len(data) * 8)
        data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


def _same(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("ours", [True, False], ids=["written-by-the-tool", "plain-torch-save"])
def test_bit_rot_is_damage_never_code_nor_a_traceback_and_never_altered_weights(ours: bool, tmp_path: Path) -> None:
    """300 copies of a real checkpoint with 1-5 flipped bits: each is damaged in one line, or (a flip in a zip
    field nothing reads) loads exactly the original; none is called code, none loads altered values."""
    path = tmp_path / "good.ckpt"
    if ours:
        _checkpoint(path)
    else:
        torch.save({"global_step": 4, "state_dict": EDSR(2, n_resblocks=1, n_feats=8).state_dict()}, path)
    good, original = path.read_bytes(), read_checkpoint(path)
    rng, damaged = random.Random(26), 0
    for _ in range(300):
        path.write_bytes(_flipped(good, rng))
        try:
            loaded = read_checkpoint(path)
        except DamagedCheckpointError as err:
            damaged += 1
            assert "\n" not in str(err)
        else:
            assert _same(loaded, original)
    assert damaged >= 290


def test_a_last_ckpt_linked_outside_the_job_is_set_aside_and_its_target_untouched(tmp_path: Path) -> None:
    outside = tmp_path / "precious.bin"
    outside.write_bytes(b"not a checkpoint, and not yours")
    job = tmp_path / "job" / "checkpoints"
    job.mkdir(parents=True)
    _checkpoint(job / "step8.ckpt", 8)
    (job / "last.ckpt").symlink_to(outside)
    assert prepare_resume(job) == job / "last.ckpt"
    assert outside.read_bytes() == b"not a checkpoint, and not yours"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job", "precious.bin"]
    assert os.readlink(job / "last.ckpt") == "step8.ckpt"
    assert [p.is_symlink() for p in job.glob("last.ckpt.damaged-*")] == [True]  # the link, kept aside


def test_a_last_ckpt_folder_is_set_aside_and_a_linked_checkpoints_folder_refused(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "step8.ckpt", 8)
    (tmp_path / "last.ckpt").mkdir()
    assert prepare_resume(tmp_path) == tmp_path / "last.ckpt"
    assert len(list(tmp_path.glob("last.ckpt.damaged-*"))) == 1
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "checkpoints").symlink_to(elsewhere)
    with pytest.raises(UserError, match=r"is a symbolic link to .* replace the link with a folder"):
        prepare_resume(tmp_path / "job" / "checkpoints")


def test_a_missing_init_from_file_names_init_from(tmp_path: Path) -> None:
    from src.models.weights import read_state_dict

    with pytest.raises(
        UserError, match=rf"init_from={tmp_path / 'nope.ckpt'}: no such checkpoint file; pass init_from="
    ):
        read_state_dict(tmp_path / "nope.ckpt", "init_from")


def test_init_from_another_architecture_is_refused_in_one_line() -> None:
    from src.models.rcan import RCAN

    rcan = RCAN(2, n_resgroups=1, n_resblocks=1, n_feats=8, reduction=4).state_dict()
    with pytest.raises(UserError, match=r"another architecture than this EDSR .* drop init_from") as info:
        load_fitting(EDSR(2, n_resblocks=1, n_feats=8), rcan, "rcan.ckpt")
    assert "\n" not in str(info.value)
    prelu = EDSR(2, n_resblocks=1, n_feats=8, act="prelu").state_dict()  # neighbours still load
    assert load_fitting(EDSR(4, n_resblocks=1, n_feats=8, act="prelu"), prelu) == ["tail.0.2.weight", "tail.0.2.bias"]


def test_a_code_pickle_planted_as_last_ckpt_stops_the_resume_with_the_right_advice(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "step4.ckpt")
    torch.save({"state_dict": CodeRunningPickle(tmp_path / "pwned")}, tmp_path / "last.ckpt")
    with pytest.raises(
        UnsafeCheckpointError, match=rf"posix\.system, which could run code; .* move it out of {tmp_path}"
    ):
        prepare_resume(tmp_path)
    assert (tmp_path / "last.ckpt").is_file() and not (tmp_path / "pwned").exists()


def test_two_damaged_files_of_one_name_in_one_second_are_both_kept(tmp_path: Path) -> None:
    _checkpoint(tmp_path / "step8.ckpt", 8)
    for text in ("first", "second"):
        (tmp_path / "last.ckpt").unlink(missing_ok=True)
        (tmp_path / "last.ckpt").write_text(text)
        assert prepare_resume(tmp_path) == tmp_path / "last.ckpt"
    kept = sorted(p.read_text() for p in tmp_path.glob("last.ckpt.damaged-*"))
    assert kept == ["first", "second"]

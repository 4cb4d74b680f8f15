"""`python -m src.data.download` against a local HTTP server with tiny archives shaped like the real ones."""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from src.data import download
from src.data.archives import ArchiveError, UnsafeMemberError, check_archive, member_parts, strip_top
from src.data.cache import cached_array
from src.data.download import main, read_sums
from src.data.images import list_images, read_image
from tests.helpers import exit_code

SPLITS = {"train": ("0001", "0002"), "valid": ("0801", "0802")}
BENCHMARK = {"Set5": "baby", "Set14": "bridge"}


def _png(size: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def _zip(members: dict[str, bytes], folders: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for folder in folders:
            zf.writestr(folder, b"")
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _tar(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archives() -> dict[str, bytes]:
    """The 13 archives of the full download, each holding two tiny images in the official member layout."""
    files = {}
    for split, ids in SPLITS.items():
        top = f"DIV2K_{split}_HR/"
        files[f"{top[:-1]}.zip"] = _zip({f"{top}{i}.png": _png(12, int(i)) for i in ids}, (top,))
        for s in (2, 3, 4):
            folder = f"DIV2K_{split}_LR_bicubic/X{s}/"
            members = {f"{folder}{i}x{s}.png": _png(12 // s, int(i) + s) for i in ids}
            files[f"DIV2K_{split}_LR_bicubic_X{s}.zip"] = _zip(members, (f"DIV2K_{split}_LR_bicubic/", folder))
    bench = {}
    for k, (name, image) in enumerate(BENCHMARK.items()):
        bench[f"benchmark/{name}/HR/{image}.png"] = _png(12, 100 + k)
        for s in (2, 3, 4):
            bench[f"benchmark/{name}/LR_bicubic/X{s}/{image}x{s}.png"] = _png(12 // s, 100 + k + s)
    files["benchmark.tar"] = _tar(bench)
    return files


class Server:
    """What the handler serves and records. `faults` maps a file name to how to misbehave for it:
    "cut" (send half the bytes, then close), "cut-once" (the same, once), "garbage" (random bytes of the
    right length), "no-range" (ignore Range and send the whole file with 200)."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = dict(files)
        self.faults: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        self.url = ""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        state: Server = self.server.state  # type: ignore[attr-defined]
        name = self.path.rsplit("/", 1)[-1]
        wanted = self.headers.get("Range")
        state.requests.append((name, wanted))
        data = state.files.get(name)
        if data is None:
            self.send_error(404)
            return
        fault = state.faults.get(name)
        if fault == "cut-once":
            del state.faults[name]
        if fault == "garbage":
            data = np.random.default_rng(0).integers(0, 256, len(data), dtype=np.uint8).tobytes()
        start = 0
        if wanted and fault != "no-range":
            match = re.fullmatch(r"bytes=(\d+)-", wanted)
            assert match, wanted
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault in ("cut", "cut-once"):
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def served(archives: dict[str, bytes], monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    monkeypatch.setattr(download, "RETRY_WAIT_S", 0.0)
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)
    state = Server(archives)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.state = state  # type: ignore[attr-defined]
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _run(server: Server, data: Path, *args: str) -> int:
    urls = ["--base-url-div2k", f"{server.url}/cvl/DIV2K/", "--base-url-benchmark", f"{server.url}/EDSR"]
    return exit_code(main, ["--data-dir", str(data), *urls, *args])


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_full_download_gives_the_official_layout_and_the_cache(
    served: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SR_CACHE_DIR", str(cache))
    data = tmp_path / "data"
    assert _run(served, data) == 0

    div2k = data / "DIV2K"
    expected = {f"DIV2K_{split}_HR": [f"{i}.png" for i in ids] for split, ids in SPLITS.items()}
    for split, ids in SPLITS.items():
        for s in (2, 3, 4):
            expected[f"DIV2K_{split}_LR_bicubic/X{s}"] = [f"{i}x{s}.png" for i in ids]
    for folder, names in expected.items():
        assert [p.name for p in list_images(div2k / folder)] == names
    for name, image in BENCHMARK.items():
        assert (data / "benchmark" / name / "HR" / f"{image}.png").is_file()
        for s in (2, 3, 4):
            assert (data / "benchmark" / name / "LR_bicubic" / f"X{s}" / f"{image}x{s}.png").is_file()
    assert sorted(p.name for p in div2k.iterdir()) == [
        "DIV2K_train_HR",
        "DIV2K_train_LR_bicubic",
        "DIV2K_valid_HR",
        "DIV2K_valid_LR_bicubic",
    ]
    assert not list(data.rglob("*.partial"))

    sums = read_sums(data / "downloads" / "SHA256SUMS")
    assert sums == {name: _sha(blob) for name, blob in served.files.items()}

    images = [p for p in data.rglob("*.png") if "downloads" not in p.parts]
    assert len(images) == 4 + 12 + 8
    assert len(list(cache.glob("*.npy"))) == len(images)
    np.testing.assert_array_equal(cached_array(images[0]), read_image(images[0]))
    assert len(list(cache.glob("*.npy"))) == len(images)
    out = capsys.readouterr().out
    assert "DIV2K_train_HR.zip: " in out and " MB" in out and "24/24 images" in out


def test_rerun_downloads_nothing_and_says_so(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert _run(served, data, "--no-cache") == 0
    served.requests.clear()
    capsys.readouterr()
    assert _run(served, data, "--no-cache") == 0
    assert served.requests == []
    assert "nothing to download" in capsys.readouterr().out
    # Once extracted, the archives may be deleted to save space: still nothing to fetch.
    for archive in (data / "downloads").glob("*.zip"):
        archive.unlink()
    assert _run(served, data, "--no-cache") == 0
    assert served.requests == []


def test_cut_connection_resumes_with_a_range_request_on_rerun(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, data = "DIV2K_train_HR.zip", tmp_path / "data"
    served.faults[name] = "cut"
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--retries", "0", "--no-cache") == 2
    err = _one_line(capsys.readouterr().err)
    assert f"{served.url}/cvl/DIV2K/{name}" in err and "rerun (downloads resume)" in err
    part = data / "downloads" / f"{name}.part"
    have = part.stat().st_size
    assert 0 < have < len(served.files[name])
    assert not (data / "downloads" / name).exists() and not (data / "DIV2K").exists()

    served.faults.clear()
    served.requests.clear()
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--no-cache") == 0
    assert served.requests[0] == (name, f"bytes={have}-")
    assert _sha((data / "downloads" / name).read_bytes()) == _sha(served.files[name])
    assert not part.exists()
    assert len(list_images(data / "DIV2K" / "DIV2K_train_HR")) == 2


def test_cut_connection_is_retried_within_the_run(served: Server, tmp_path: Path) -> None:
    name, data = "benchmark.tar", tmp_path / "data"
    served.faults[name] = "cut-once"
    assert _run(served, data, "--only", "benchmark", "--no-cache") == 0
    assert [r for _, r in served.requests] == [None, f"bytes={len(served.files[name]) // 2}-"]
    assert (data / "downloads" / name).read_bytes() == served.files[name]


def test_server_ignoring_range_restarts_the_file_cleanly(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, data = "benchmark.tar", tmp_path / "data"
    (data / "downloads").mkdir(parents=True)
    (data / "downloads" / f"{name}.part").write_bytes(b"not the start of the file" * 4)
    served.faults[name] = "no-range"
    assert _run(served, data, "--only", "benchmark", "--no-cache") == 0
    assert served.requests == [(name, "bytes=100-")]
    assert (data / "downloads" / name).read_bytes() == served.files[name]
    assert "does not resume" in capsys.readouterr().out


def test_complete_part_file_is_kept_without_downloading_again(served: Server, tmp_path: Path) -> None:
    # A run stopped between the last byte and the rename: the server answers 416 and nothing is refetched.
    name, data = "benchmark.tar", tmp_path / "data"
    (data / "downloads").mkdir(parents=True)
    (data / "downloads" / f"{name}.part").write_bytes(served.files[name])
    assert _run(served, data, "--only", "benchmark", "--no-cache") == 0
    assert served.requests == [(name, f"bytes={len(served.files[name])}-")]
    assert (data / "downloads" / name).read_bytes() == served.files[name]


@pytest.mark.parametrize("name", ["DIV2K_valid_HR.zip", "benchmark.tar"])
def test_corrupt_archive_is_set_aside_and_never_extracted(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    data = tmp_path / "data"
    served.faults[name] = "garbage"
    only = "benchmark" if name.endswith(".tar") else "div2k"
    assert _run(served, data, "--only", only, "--scales", "2", "--no-cache") == 2
    err = _one_line(capsys.readouterr().err)
    assert name in err and "rerun" in err
    assert not (data / "downloads" / name).exists()
    assert (data / "downloads" / f"{name}.corrupt").stat().st_size == len(served.files[name])
    assert name not in read_sums(data / "downloads" / "SHA256SUMS")
    target = data / ("benchmark" if only == "benchmark" else "DIV2K/DIV2K_valid_HR")
    assert not target.exists()
    assert not list(data.rglob("*.partial"))


def test_checksum_mismatch_on_a_later_run_is_an_error(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--no-cache") == 0
    archive = data / "downloads" / "DIV2K_valid_HR.zip"
    blob = bytearray(archive.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    archive.write_bytes(bytes(blob))
    capsys.readouterr()
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--no-cache") == 2
    err = _one_line(capsys.readouterr().err)
    assert str(archive) in err and "SHA256SUMS" in err and "delete" in err


@pytest.mark.parametrize(
    "member",
    ["../evil.png", "/tmp/evil.png", "DIV2K_train_HR/../../evil.png", "C:/evil.png", "a\\..\\evil.png"],
)
def test_path_traversal_member_is_refused(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str], member: str
) -> None:
    data = tmp_path / "data"
    served.files["DIV2K_train_HR.zip"] = _zip({"DIV2K_train_HR/0001.png": _png(12, 1), member: _png(12, 2)})
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--no-cache") == 2
    err = _one_line(capsys.readouterr().err)
    assert "refusing to extract" in err and "DIV2K_train_HR.zip" in err
    assert not list(tmp_path.rglob("evil.png"))
    assert not (data / "DIV2K").exists()


def test_tar_links_and_escaping_names_are_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.tar"
    link.write_bytes(_tar({"benchmark/Set5/HR/a.png": b"x"}, links={"benchmark/Set5/HR/b.png": "/etc/passwd"}))
    with pytest.raises(UnsafeMemberError, match="link"):
        check_archive(link)
    escape = tmp_path / "escape.tar"
    escape.write_bytes(_tar({"benchmark/../../evil.png": b"x"}))
    with pytest.raises(UnsafeMemberError, match=r"\.\."):
        check_archive(escape)


def test_truncated_or_bit_flipped_archives_fail_the_check(tmp_path: Path, archives: dict[str, bytes]) -> None:
    tar = tmp_path / "benchmark.tar"
    for cut in (512 * 2, 512 * 2 + 300, 1500, 700):  # at a header, inside one, inside file data
        tar.write_bytes(archives["benchmark.tar"][:cut])
        with pytest.raises(ArchiveError, match="truncated"):
            check_archive(tar)
    blob = _zip({"X2/0001x2.png": b"a" * 1000})
    flipped = tmp_path / "flipped.zip"
    flipped.write_bytes(blob.replace(b"a" * 1000, b"a" * 500 + b"b" + b"a" * 499))
    with pytest.raises(ArchiveError, match="corrupt"):
        check_archive(flipped)


@pytest.mark.parametrize(
    ("names", "top", "expected"),
    [
        (["DIV2K_train_LR_bicubic/X2/0001x2.png"], "X2", [("0001x2.png",)]),
        (["0001.png", "0002.png"], "DIV2K_train_HR", [("0001.png",), ("0002.png",)]),
        (["other/0001.png", "other/0002.png"], "DIV2K_train_HR", [("0001.png",), ("0002.png",)]),
        (["./benchmark/Set5/HR/a.png", "benchmark/Set5/LR_bicubic/X2/ax2.png"], "benchmark",
         [("Set5", "HR", "a.png"), ("Set5", "LR_bicubic", "X2", "ax2.png")]),
        (["Set5/HR/a.png", "Set5/LR_bicubic/X2/ax2.png"], "benchmark",
         [("Set5", "HR", "a.png"), ("Set5", "LR_bicubic", "X2", "ax2.png")]),
    ],
)  # fmt: skip
def test_archive_top_folder_maps_onto_the_target(names: list[str], top: str, expected: list[tuple[str, ...]]) -> None:
    assert strip_top([member_parts(n) for n in names], top) == expected


def test_flat_archive_still_lands_in_the_official_layout(served: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    served.files["DIV2K_valid_LR_bicubic_X2.zip"] = _zip({"0801x2.png": _png(6, 1), "0802x2.png": _png(6, 2)})
    assert _run(served, data, "--only", "div2k", "--scales", "2", "--no-cache") == 0
    folder = data / "DIV2K" / "DIV2K_valid_LR_bicubic" / "X2"
    assert [p.name for p in list_images(folder)] == ["0801x2.png", "0802x2.png"]


def test_folder_placed_by_hand_is_left_alone(served: Server, tmp_path: Path) -> None:
    data = tmp_path / "data"
    own = data / "benchmark" / "Set5" / "HR" / "mine.png"
    own.parent.mkdir(parents=True)
    own.write_bytes(_png(12, 7))
    assert _run(served, data, "--only", "benchmark") == 0
    assert served.requests == []
    assert sorted(p.name for p in (data / "benchmark").rglob("*.png")) == ["mine.png"]


def test_unreachable_server_is_a_one_line_error_naming_the_url_and_layout(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cvl/DIV2K/"
    args = [
        "--data-dir",
        str(tmp_path / "data"),
        "--only",
        "div2k",
        "--base-url-div2k",
        url,
        "--retries",
        "1",
    ]
    assert exit_code(main, args) == 2
    err = _one_line(capsys.readouterr().err)
    assert f"{url}DIV2K_train_HR.zip: Connection refused (2 attempts)" in err
    assert "by hand" in err and "DIV2K/DIV2K_{train,valid}_HR/NNNN.png" in err and "benchmark/" in err


def test_http_error_is_a_one_line_error(served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    del served.files["benchmark.tar"]
    assert _run(served, tmp_path / "data", "--only", "benchmark") == 2
    err = _one_line(capsys.readouterr().err)
    assert "404" in err and "--base-url-benchmark" in err


def test_unwritable_data_dir_is_a_one_line_error(
    served: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert _run(served, blocker / "data", "--only", "benchmark") == 2
    err = _one_line(capsys.readouterr().err)
    assert "cannot write" in err and "--data-dir" in err


def test_data_dir_defaults_to_the_environment(served: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SR_DATA_DIR", str(tmp_path / "env_data"))
    assert main(["--only", "benchmark", "--base-url-benchmark", served.url, "--no-cache"]) == 0
    assert (tmp_path / "env_data" / "benchmark" / "Set5" / "HR" / "baby.png").is_file()

"""Fetch DIV2K and EDSR's benchmark sets into the official layouts: `python -m src.data.download`.

Downloads resume (HTTP Range) into `<data-dir>/downloads/<name>.part`, every archive is checked in full and
pinned in `downloads/SHA256SUMS` before anything is extracted, extraction is atomic per archive, and a rerun
with everything in place downloads nothing. Afterwards every image is decoded once into the array cache so
that the first training epoch does not pay for PNG decoding.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import re
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from src.contracts.errors import UserError, user_errors_exit
from src.data.archives import ArchiveError, UnsafeMemberError, check_archive, extract, is_extracted
from src.data.cache import cached_array, default_cache_dir
from src.data.images import list_images
from src.data.layout import SUPPORTED_SCALES

DIV2K_URL = "http://data.vision.ee.ethz.ch/cvl/DIV2K/"
BENCHMARK_URL = "https://cv.snu.ac.kr/research/EDSR/"
SUMS_NAME = "SHA256SUMS"
RETRIES = 3
# Seconds before the first retry; doubled for each further one. Tests set it to 0.
RETRY_WAIT_S = 2.0
# Per socket operation, not per file: a stalled transfer is retried instead of hanging forever.
TIMEOUT_S = 60.0
_CHUNK = 1 << 20
# "bytes 100-199/200" on a 206; "bytes */200" on a 416.
_CONTENT_RANGE = re.compile(r"bytes (?:(\d+)-\d+|\*)/(\d+|\*)")


class DownloadError(UserError):
    """A one-line, user-facing reason to stop, naming the problem and the fix."""


class _Transient(Exception):
    """Network trouble worth retrying (refused, reset, timed out, cut short)."""


class _PartTooLong(Exception):
    """HTTP 416: the partial file is not shorter than the server's file."""

    def __init__(self, total: int | None) -> None:
        super().__init__(total)
        self.total = total


@dataclass(frozen=True)
class Archive:
    name: str
    url: str
    target: Path  # relative to the data dir: the folder the archive's `top` folder becomes
    top: str


def select_archives(only: list[str], scales: list[int], div2k_url: str, benchmark_url: str) -> list[Archive]:
    """The archives for the chosen sets and scales, in download order (HR first)."""
    archives = []
    if "div2k" in only:
        for split in ("train", "valid"):
            name = f"DIV2K_{split}_HR"
            archives.append(Archive(f"{name}.zip", _join(div2k_url, f"{name}.zip"), Path("DIV2K", name), name))
        for split in ("train", "valid"):
            for s in scales:
                zip_name = f"DIV2K_{split}_LR_bicubic_X{s}.zip"
                target = Path("DIV2K", f"DIV2K_{split}_LR_bicubic", f"X{s}")
                archives.append(Archive(zip_name, _join(div2k_url, zip_name), target, f"X{s}"))
    if "benchmark" in only:
        archives.append(Archive("benchmark.tar", _join(benchmark_url, "benchmark.tar"), Path("benchmark"), "benchmark"))
    return archives


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def layout_hint(data_dir: Path) -> str:
    return (
        f"or place the files by hand under {data_dir}/ as DIV2K/DIV2K_{{train,valid}}_HR/NNNN.png, "
        "DIV2K/DIV2K_{train,valid}_LR_bicubic/X{s}/NNNNx{s}.png and "
        "benchmark/{Set5,Set14,B100,Urban100}/{HR,LR_bicubic/X{s}}/"
    )


def _say(message: str) -> None:
    print(message, flush=True)


class Progress:
    """One updating line on a terminal; otherwise a line every `every_s` seconds (logs stay short)."""

    def __init__(self, label: str, total: int | None, scale: float, unit: str, stream: TextIO | None = None) -> None:
        self.label, self.total, self.scale, self.unit = label, total, scale, unit
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty()
        self.every_s = 0.2 if self.tty else 10.0
        self.done = 0
        self._last = time.monotonic()

    def _line(self) -> str:
        fmt = (lambda n: f"{n / self.scale:.1f}") if self.scale != 1 else str
        total = fmt(self.total) if self.total is not None else "?"
        return f"{self.label}: {fmt(self.done)}/{total} {self.unit}"

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.stream.write(f"\r{self._line()}\033[K" if self.tty else self._line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        self.stream.write(f"\r{self._line()}\033[K\n" if self.tty else self._line() + "\n")
        self.stream.flush()


def _reason(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    if isinstance(err, http.client.IncompleteRead):
        return "connection closed early"
    return str(err) or type(err).__name__


def _parse_content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, total length) of a Content-Range header; None where the header gives `*`."""
    match = _CONTENT_RANGE.fullmatch((value or "").strip())
    if match is None:
        raise ValueError(f"unreadable Content-Range {value!r}")
    start, total = match.groups()
    return (int(start) if start else None), (None if total == "*" else int(total))


def _open(url: str, have: int) -> http.client.HTTPResponse:
    headers = {"User-Agent": "srsweep-download"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as err:
        err.close()
        if err.code == 416 and have:
            try:
                total = _parse_content_range(err.headers.get("Content-Range"))[1]
            except ValueError:
                total = None
            raise _PartTooLong(total) from None
        if err.code >= 500 or err.code == 429:
            raise _Transient(f"server error {err.code} {err.reason}") from None
        raise DownloadError(
            f"{url}: the server answered {err.code} {err.reason}; check the base URL "
            "(--base-url-div2k / --base-url-benchmark)"
        ) from None
    except (OSError, http.client.HTTPException) as err:
        raise _Transient(_reason(err)) from None


def _fetch_once(url: str, part: Path) -> None:
    """One request: continue `part` from its current size (or start it) and stop at the end or on error."""
    have = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, have)
    except _PartTooLong as err:
        if err.total == have:
            return  # complete already: an earlier run stopped between the last byte and the rename
        # Longer than the file, e.g. left from an older copy of it: start afresh.
        part.unlink()
        response = _open(url, 0)
        have = 0
    with response:
        if response.status == 206:
            try:
                start, total = _parse_content_range(response.headers.get("Content-Range"))
            except ValueError as err:
                part.unlink()
                raise _Transient(f"{err}; starting over") from None
            if start != have:
                part.unlink()
                raise _Transient("the server resumed at the wrong offset; starting over")
            mode = "ab"
        else:
            # A 200 carries the whole file: either we asked for it, or the server ignores Range.
            if have:
                _say(f"{part.name}: the server does not resume downloads; starting over")
            length = response.headers.get("Content-Length")
            mode, have, total = "wb", 0, int(length) if length else None
        _copy(response, part, mode, have, total)
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Transient(f"connection closed after {size / 1e6:.1f} of {total / 1e6:.1f} MB")
    if total is not None and size > total:
        part.unlink()
        raise _Transient(f"got {size} bytes where the server announced {total}; starting over")


def _copy(response: http.client.HTTPResponse, part: Path, mode: str, done: int, total: int | None) -> None:
    progress = Progress(part.name.removesuffix(".part"), total, 1e6, "MB")
    try:
        with open(part, mode) as out:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise _Transient(_reason(err)) from None
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                progress.update(done)
    except OSError as err:
        raise DownloadError(
            f"cannot write {part}: {err.strerror or err}; free disk space or choose another --data-dir"
        ) from None
    finally:
        progress.close()


def download(url: str, dest: Path, retries: int, hint: str) -> None:
    """Fetch `url` to `dest` via `dest.part`, resuming after cuts; `dest` appears only when complete."""
    part = dest.with_name(dest.name + ".part")
    for attempt in range(retries + 1):
        try:
            _fetch_once(url, part)
            break
        except _Transient as err:
            if attempt == retries:
                tries = f"{attempt + 1} attempt{'s' if attempt else ''}"
                raise DownloadError(
                    f"cannot download {url}: {err} ({tries}); check the network and rerun (downloads resume), {hint}"
                ) from None
            wait = RETRY_WAIT_S * 2**attempt
            _say(f"{dest.name}: {err}; retrying in {wait:.0f} s")
            time.sleep(wait)
    os.replace(part, dest)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_sums(path: Path) -> dict[str, str]:
    """`sha256sum`-format lines (`<hex>  <name>`), so that `sha256sum -c SHA256SUMS` works too."""
    if not path.exists():
        return {}
    sums = {}
    for line in path.read_text().splitlines():
        fields = line.split(maxsplit=1)
        if len(fields) == 2:
            sums[fields[1].lstrip("*")] = fields[0].lower()
    return sums


def write_sums(path: Path, sums: dict[str, str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items())))
    os.replace(tmp, path)


def _check_or_set_aside(file: Path) -> None:
    try:
        check_archive(file)
    except UnsafeMemberError as err:
        raise DownloadError(
            f"refusing to extract {file}: {err}; this is not the official archive, check the base URL, "
            "delete the file and rerun"
        ) from None
    except ArchiveError as err:
        aside = file.with_name(file.name + ".corrupt")
        os.replace(file, aside)
        raise DownloadError(
            f"{err}; moved it to {aside}, rerun to download it again (if this repeats, something between "
            "you and the server alters the file)"
        ) from None


def verify(file: Path, sums: dict[str, str], sums_path: Path) -> None:
    """Check `file` against its pinned checksum, or check it in full and pin it on first sight."""
    digest = sha256_of(file)
    recorded = sums.get(file.name)
    if recorded is None:
        _check_or_set_aside(file)
        sums[file.name] = digest
        write_sums(sums_path, sums)
    elif recorded != digest:
        raise DownloadError(
            f"{file} does not match its checksum in {sums_path} (changed or corrupted); delete {file} "
            f"and rerun to download it again (and its line in {sums_path.name} if the server's copy changed)"
        )


def ensure(archive: Archive, data_dir: Path, sums: dict[str, str], retries: int) -> bool:
    """Make `archive`'s folder exist in the layout; True when something had to be downloaded."""
    downloads = data_dir / "downloads"
    file = downloads / archive.name
    target = data_dir / archive.target
    sums_path = downloads / SUMS_NAME
    present = file.exists()
    if present:
        file.with_name(file.name + ".part").unlink(missing_ok=True)
        verify(file, sums, sums_path)
    if is_extracted(target):
        _say(f"{archive.name}: {'checksum verified, ' if present else ''}already extracted in {target}")
        return False
    if target.is_dir() and any(target.iterdir()):
        _say(f"{archive.name}: {target} already holds files (placed by hand?); left as is, delete it to redo")
        return False
    if not present:
        download(archive.url, file, retries, layout_hint(data_dir))
        verify(file, sums, sums_path)
    count = extract(file, target, archive.top, sums[archive.name])
    _say(f"{archive.name}: extracted {count} files into {target}")
    return not present


def images_below(folder: Path) -> list[Path]:
    folders = [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]
    return [image for f in folders for image in list_images(f)]


def build_cache(folders: list[Path]) -> None:
    """Decode every image once now, so that no training run pays for it (see src/data/cache.py)."""
    images = [image for folder in folders if folder.is_dir() for image in images_below(folder)]
    progress = Progress(f"decoded-image cache in {default_cache_dir()}", len(images), 1, "images")
    try:
        for i, image in enumerate(images, 1):
            cached_array(image)
            progress.update(i)
    finally:
        progress.close()


def fetch(archives: list[Archive], data_dir: Path, retries: int, cache: bool) -> None:
    downloads = data_dir / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    sums = read_sums(downloads / SUMS_NAME)
    fetched = sum(ensure(archive, data_dir, sums, retries) for archive in archives)
    if not fetched:
        _say(f"nothing to download: all {len(archives)} archives were already downloaded or extracted")
    if cache:
        build_cache([data_dir / archive.target for archive in archives])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m src.data.download",
        description="Download DIV2K and the EDSR benchmark sets into their official layouts.",
    )
    parser.add_argument("--data-dir", type=Path, help="data root (default: $SR_DATA_DIR, else ./data)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("div2k", "benchmark"),
        default=["div2k", "benchmark"],
        help="sets to fetch",
    )
    parser.add_argument(
        "--scales",
        nargs="+",
        type=int,
        choices=SUPPORTED_SCALES,
        default=list(SUPPORTED_SCALES),
        help="DIV2K LR scales to fetch",
    )
    parser.add_argument("--base-url-div2k", default=DIV2K_URL, help=f"DIV2K archives (default: {DIV2K_URL})")
    parser.add_argument(
        "--base-url-benchmark",
        default=BENCHMARK_URL,
        help=f"benchmark.tar's folder (default: {BENCHMARK_URL})",
    )
    parser.add_argument("--no-cache", action="store_true", help="skip building the decoded-image cache")
    parser.add_argument(
        "--retries",
        type=int,
        default=RETRIES,
        help="retries per file on network errors (default: %(default)s)",
    )
    return parser


@user_errors_exit
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    data_dir = args.data_dir or Path(os.environ.get("SR_DATA_DIR") or "data")
    archives = select_archives(args.only, sorted(set(args.scales)), args.base_url_div2k, args.base_url_benchmark)
    try:
        fetch(archives, data_dir, max(args.retries, 0), cache=not args.no_cache)
    except UserError:
        raise
    except ArchiveError as err:
        raise DownloadError(str(err)) from None
    except OSError as err:
        where = err.filename or data_dir
        raise DownloadError(
            f"cannot write {where}: {err.strerror or err}; check free space and permissions, "
            "or choose another --data-dir"
        ) from None
    except KeyboardInterrupt:
        print("interrupted; rerun to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

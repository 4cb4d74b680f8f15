"""Checking and unpacking the data set archives (zip and tar) without trusting their member names.

Members are copied out one by one rather than with `extractall`: that way a name can never escape the
target, links and device files are never created, and the archive's own top folder (`DIV2K_train_HR/`,
`DIV2K_train_LR_bicubic/X2/`, `benchmark/`) can be mapped onto the official layout whatever it is called.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

# Written inside the extracted folder before it is moved into place, so it appears atomically with the data.
MARKER_NAME = ".extracted"
_CHUNK = 1 << 20
_DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(Exception):
    """An archive that must not be extracted: corrupt, truncated or unsafe. The message is one line."""


class UnsafeMemberError(ArchiveError):
    """A member whose name or type could write outside the target folder."""


def member_parts(name: str) -> tuple[str, ...]:
    """The path components of a member name, refusing any that could leave the extraction folder."""
    if name.startswith("/") or _DRIVE.match(name):
        raise UnsafeMemberError(f"member {name!r} has an absolute path")
    # A separator on Windows, where `a\..\..\x` escapes; no official archive uses one.
    if "\\" in name:
        raise UnsafeMemberError(f"member {name!r} contains a backslash")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise UnsafeMemberError(f"member {name!r} contains '..'")
    return parts


def _common_prefix(folders: list[tuple[str, ...]]) -> tuple[str, ...]:
    common = folders[0]
    for folder in folders[1:]:
        n = 0
        while n < min(len(common), len(folder)) and common[n] == folder[n]:
            n += 1
        common = common[:n]
    return common


def strip_top(paths: list[tuple[str, ...]], top: str) -> list[tuple[str, ...]]:
    """Paths relative to the folder that the archive's `top` folder stands for.

    The official archives wrap their files in `top` (possibly below further folders); mirrors and hand-made
    archives sometimes use another folder name or none. So: drop the shared leading folders up to and
    including the last `top` among them; failing that, drop all shared folders when every file sits in one
    folder (a flat image set); otherwise keep the paths, which then already start below `top`.
    """
    if not paths:
        return []
    folders = [p[:-1] for p in paths]
    common = _common_prefix(folders)
    if top in common:
        cut = len(common) - common[::-1].index(top)
    elif all(f == folders[0] for f in folders):
        cut = len(common)
    else:
        cut = 0
    return [p[cut:] for p in paths]


class _Reader:
    """The regular files of an open zip or tar archive, by name, with unsafe members refused up front."""

    def __init__(self, handle: zipfile.ZipFile | tarfile.TarFile) -> None:
        self.handle = handle
        self._tar_members: dict[str, tarfile.TarInfo] = {}

    def files(self) -> list[str]:
        """Names of the regular files, after checking every member's name and type."""
        if isinstance(self.handle, zipfile.ZipFile):
            infos = self.handle.infolist()
            for info in infos:
                member_parts(info.filename)
            return [i.filename for i in infos if not i.is_dir()]
        names = []
        for member in self.handle:
            member_parts(member.name)
            if member.isdir():
                continue
            if not member.isreg():
                raise UnsafeMemberError(f"member {member.name!r} is a link or special file")
            self._tar_members[member.name] = member
            names.append(member.name)
        return names

    def ends_cleanly(self) -> bool:
        """Whether the archive's end-of-archive marker is there; call after `files()`.

        A zip's central directory sits at its end, so opening it proves that. tarfile, though, stops quietly
        at a cut-off header, so a tar truncated between members would otherwise read as complete.
        """
        if isinstance(self.handle, zipfile.ZipFile):
            return True
        fileobj = self.handle.fileobj
        assert fileobj is not None
        fileobj.seek(self.handle.offset)
        return fileobj.read(tarfile.BLOCKSIZE) == bytes(tarfile.BLOCKSIZE)

    def open(self, name: str) -> IO[bytes]:
        if isinstance(self.handle, zipfile.ZipFile):
            return self.handle.open(name)
        stream = self.handle.extractfile(self._tar_members[name])
        assert stream is not None  # regular files always have a stream
        return stream


@contextmanager
def _reading(path: Path) -> Iterator[_Reader]:
    with ExitStack() as stack:
        try:
            if path.suffix == ".zip":
                handle: zipfile.ZipFile | tarfile.TarFile = stack.enter_context(zipfile.ZipFile(path))
            else:
                handle = stack.enter_context(tarfile.open(path, "r:*"))
        except (zipfile.BadZipFile, tarfile.TarError, EOFError) as err:
            raise ArchiveError(f"{path.name} is not a readable archive ({err})") from None
        yield _Reader(handle)


def check_archive(path: Path) -> int:
    """Read every member in full (CRCs for zip, headers and lengths for tar); the number of files.

    A download that stopped early or was replaced by an error page fails here, before anything is extracted.
    """
    with _reading(path) as reader:
        try:
            names = reader.files()
            for name in names:
                with reader.open(name) as src:
                    while src.read(_CHUNK):
                        pass
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as err:
            raise ArchiveError(f"{path.name} is corrupt or truncated ({err})") from None
        if not reader.ends_cleanly():
            raise ArchiveError(f"{path.name} is truncated (no end-of-archive marker)")
    if not names:
        raise ArchiveError(f"{path.name} holds no files")
    return len(names)


def is_extracted(target: Path) -> bool:
    return (target / MARKER_NAME).is_file()


def extract(path: Path, target: Path, top: str, sha256: str) -> int:
    """Unpack the archive at `path` so that its `top` folder becomes `target`; the number of files.

    Files go to a hidden sibling folder first and that folder is renamed to `target` at the end, so an
    interrupted run leaves either no `target` or a complete one (with its marker).
    """
    staging = target.parent / f".{target.name}.partial"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    try:
        with _reading(path) as reader:
            names = reader.files()
            for name, rel in zip(names, strip_top([member_parts(n) for n in names], top), strict=True):
                dest = staging.joinpath(*rel)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with reader.open(name) as src, open(dest, "wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
        marker = {"archive": path.name, "sha256": sha256, "files": len(names)}
        (staging / MARKER_NAME).write_text(json.dumps(marker) + "\n")
        if target.is_dir() and not any(target.iterdir()):
            target.rmdir()
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(names)

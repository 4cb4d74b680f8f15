"""A SHA-256 of each checkpoint the tool writes, embedded in it, verified whenever a checkpoint is read.

A checkpoint (`torch.save`) is a zip of pickled metadata and raw tensor bytes, and torch reads it without
checking anything: a flipped bit in the tensor bytes loads as silently altered weights, one in the pickle as a
confusing error. Before the file is renamed into place, the digest of all its records (names and bytes) is
appended as one more record, `<archive>/.data/srsweep_sha256`, which torch ignores. Embedded rather than a
sidecar, it travels with the file however it is copied, renamed, linked (Lightning's `last.ckpt`) or set
aside. Reading every record also checks the zip's own CRC-32s, so damage to a zip from elsewhere is caught too.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

RECORD = ".data/srsweep_sha256"
_BLOCK = 1 << 20


def _digest(archive: zipfile.ZipFile) -> str:
    """SHA-256 over every record but ours, in order: its name, then its bytes (CRC-32 checked by zipfile)."""
    digest = hashlib.sha256()
    for info in archive.infolist():
        if info.filename.endswith("/" + RECORD):
            continue
        digest.update(info.filename.encode() + b"\0")
        with archive.open(info) as member:
            for block in iter(lambda member=member: member.read(_BLOCK), b""):
                digest.update(block)
    return digest.hexdigest()


def embed_sha256(path: Path) -> None:
    """Append the digest record to the torch zip at `path` (the complete temporary file) and fsync it."""
    with open(path, "r+b") as f:
        with zipfile.ZipFile(f) as archive:
            digest = _digest(archive)
            prefix = archive.namelist()[0].split("/")[0]
        with zipfile.ZipFile(f, "a") as archive:
            archive.writestr(f"{prefix}/{RECORD}", digest)
        f.flush()
        os.fsync(f.fileno())


def mismatch(path: Path) -> str | None:
    """Why the zip at `path` is not what was written: a CRC-32 or the embedded SHA-256 that does not match, or
    a zip structure that does not read (None: it reads, or it is not a zip, which torch then judges)."""
    try:
        if not zipfile.is_zipfile(path):
            return None
        with zipfile.ZipFile(path) as archive:
            records = [n for n in archive.namelist() if n.endswith("/" + RECORD)]
            recorded = archive.read(records[-1]).decode("ascii", errors="replace").strip() if records else None
            actual = _digest(archive)
    except NotImplementedError:  # a compression method zipfile lacks: not ours, let torch judge
        return None
    except Exception as err:  # BadZipFile (a CRC-32), zlib, struct, OS errors...: garbled either way
        text = " ".join(str(err).split())[:120] or type(err).__name__
        return f"its zip structure is damaged ({text})"
    if recorded is not None and actual != recorded:
        return "its SHA-256 differs from the one recorded when it was written: the bytes changed"
    return None

"""What a checkpoint's pickle would call, read from its opcodes without unpickling anything.

`torch.load(weights_only=True)` refuses a file for many reasons: a pickle that names a callable outside its
allowlist (which could run code), but also garbage, an HTML page or a flipped bit. Only the first is a
file that "could run code"; the others are damaged. This walks the pickle opcodes and reports a global that
is not allowlisted and names something that exists (a garbled name is damage, not code).
"""

from __future__ import annotations

import importlib.util
import io
import pickletools
import sys
import zipfile
from pathlib import Path

_STRINGS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING", "BINSTRING", "SHORT_BINSTRING"}
_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_GET = {"GET", "BINGET", "LONG_BINGET"}
_SCAN_LIMIT = 64 << 20  # bytes of a non-zip file read for pickles (its first pickles lead the file)


def _allowed() -> set[str]:
    try:
        from torch import _weights_only_unpickler as unpickler

        return set(unpickler._get_allowed_globals()) | set(unpickler._get_user_allowed_globals())
    except (ImportError, AttributeError):  # another torch: judge every global by whether it exists
        return set()


def _pickles(path: Path) -> list[bytes]:
    """The pickle streams of a torch zip file (`*.pkl` members), or the head of any other file."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return [archive.read(n) for n in archive.namelist() if n.endswith(".pkl")]
        with open(path, "rb") as f:
            return [f.read(_SCAN_LIMIT)]
    except Exception:  # an unreadable zip holds no pickle we could judge: damaged, not code
        return []


def _globals(stream: bytes) -> list[tuple[str, str]]:
    """(module, name) of every GLOBAL, INST and STACK_GLOBAL in the pickles of `stream`, until they end or
    stop parsing (a legacy torch file is several pickles followed by raw bytes)."""
    found: list[tuple[str, str]] = []
    data = io.BytesIO(stream)
    while data.tell() < len(stream):
        pushed: list[object] = []
        memo: dict[int, object] = {}
        try:
            for op, arg, _pos in pickletools.genops(data):
                if op.name in ("GLOBAL", "INST"):
                    module, _, name = str(arg).partition(" ")
                    found.append((module, name))
                elif op.name == "STACK_GLOBAL":
                    module, name = (pushed[-2:] if len(pushed) >= 2 else [None, None])[:2]
                    found.append((str(module), str(name)) if module and name else ("?", "?"))
                elif op.name in _PUT and pushed:
                    memo[int(arg)] = pushed[-1]
                elif op.name == "MEMOIZE" and pushed:
                    memo[len(memo)] = pushed[-1]
                elif op.name in _GET:
                    pushed.append(memo.get(int(arg)))
                else:
                    pushed.append(arg if op.name in _STRINGS else None)
        except Exception:  # the rest is not a pickle (raw storage bytes, garbage): stop here
            break
    return found


def _exists(module: str, name: str) -> bool:
    """Does `module.name` name something that could be called? A module not imported yet is assumed to."""
    if module == "?":
        return True  # built on the stack at unpickling time: cannot be ruled out
    try:
        loaded = sys.modules.get(module)
        if loaded is None:
            return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError, AttributeError):
        return False
    target: object = loaded
    for part in name.split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return callable(target)


def code_in(path: Path) -> str | None:
    """The first callable outside torch's weights-only allowlist that unpickling `path` would call, as
    `module.name` (None: the file holds no such call; if torch refused it, it is damaged, not dangerous)."""
    allowed = _allowed()
    for stream in _pickles(Path(path)):
        for module, name in _globals(stream):
            if f"{module}.{name}" not in allowed and _exists(module, name):
                return f"{module}.{name}" if module != "?" else "a callable built at unpickling time"
    return None

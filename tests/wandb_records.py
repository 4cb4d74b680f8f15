"""Read an offline W&B run's transaction log (`run-*.wandb`) so tests can check what W&B itself recorded.

The file is a LevelDB-style log: a 7-byte file header, then 32 KiB blocks of records, each with a 7-byte
header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last) and a protobuf `Record` as payload.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

BLOCK = 32768
HEADER = 7


def _payloads(data: bytes):
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left_in_block = BLOCK - (pos % BLOCK)
        if left_in_block < HEADER:
            pos += left_in_block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        pos += HEADER
        chunk = data[pos : pos + length]
        pos += length
        if kind == 0 and length == 0:
            continue
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield pending
            pending = b""


def read_run(run_dir: Path) -> dict[str, Any]:
    """{'config': {...}, 'summary': {...}, 'name', 'group', 'tags'} of an offline run directory."""
    from wandb.proto import wandb_internal_pb2 as pb

    log_file = next(Path(run_dir).glob("run-*.wandb"))
    out: dict[str, Any] = {
        "config": {},
        "summary": {},
        "history_keys": set(),
        "name": None,
        "group": None,
        "tags": [],
    }
    for payload in _payloads(log_file.read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["name"], out["group"], out["tags"] = (
                record.run.display_name,
                record.run.run_group,
                list(record.run.tags),
            )
            updates = record.run.config.update
        elif kind == "config":
            updates = record.config.update
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
            continue
        elif kind == "history":
            out["history_keys"].update(item.key or "/".join(item.nested_key) for item in record.history.item)
            continue
        else:
            continue
        for item in updates:
            out["config"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out

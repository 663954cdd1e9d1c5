"""Read back what an offline W&B run wrote: its ``run-<id>.wandb`` transaction log (a LevelDB-style
log of protobuf ``Record`` messages: a 7-byte file header, then 32 KiB blocks of records each with
a 7-byte header of checksum, length and type, long records split into first/middle/last pieces)."""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B log"
    out, pieces, offset = [], [], HEADER
    while offset + HEADER <= len(data):
        left_in_block = BLOCK - offset % BLOCK
        if left_in_block < HEADER:  # the block's tail is padding
            offset += left_in_block
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[offset : offset + HEADER])
        if length == 0 and kind == 0:
            offset += left_in_block
            continue
        payload = data[offset + HEADER : offset + HEADER + length]
        offset += HEADER + length
        pieces.append(payload)
        if kind in (FULL, LAST):
            out.append(b"".join(pieces))
            pieces = []
    return out


@dataclass
class OfflineRun:
    run_id: str = ""
    name: str = ""
    project: str = ""
    tags: list[str] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)


def read_run(run_dir: Path) -> OfflineRun:
    """The run, its config and its logged history rows, from an ``offline-run-*`` directory."""
    from wandb.proto import wandb_internal_pb2 as pb

    run = OfflineRun()
    for raw in records(next(run_dir.glob("run-*.wandb"))):
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.run_id, run.name, run.project = record.run.run_id, record.run.display_name, record.run.project
            run.tags = list(record.run.tags)
            run.config |= {item.key: json.loads(item.value_json) for item in record.run.config.update}
        elif kind == "config":
            run.config |= {item.key: json.loads(item.value_json) for item in record.config.update}
        elif kind == "history":
            run.history.append({_key(item): json.loads(item.value_json) for item in record.history.item})
    return run


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)

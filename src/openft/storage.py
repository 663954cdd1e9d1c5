"""The data dir on disk: uploaded file bytes, upload parts and job artifacts.

Rows in the store hold paths relative to the data dir; this module is the only one that turns
them into real paths, writes bytes and removes them.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
import uuid
from pathlib import Path

CHUNK = 1024 * 1024
# Bytes in incoming/ untouched for this long belong to no request: an upload in flight writes
# continuously, and the longest pause after its last write (checking a large file) is minutes.
INCOMING_MAX_AGE_SECONDS = 3600
MIN_FREE_BYTES = 1024 * 1024  # less free space than this and /health reports the disk full


class Storage:
    def __init__(self, data_dir: Path):
        self.root = Path(data_dir).resolve()
        for sub in ("files", "uploads", "jobs", "incoming"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def path(self, relative: str) -> Path:
        return self.root / relative

    def incoming(self) -> Path:
        """A fresh path for bytes being received; moved into place once accepted."""
        return self.root / "incoming" / uuid.uuid4().hex

    def keep_file(self, temp: Path, file_id: str) -> str:
        relative = f"files/{file_id}"
        os.replace(temp, self.root / relative)
        return relative

    def keep_part(self, temp: Path, upload_id: str, part_id: str) -> str:
        folder = self.root / "uploads" / upload_id
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(temp, folder / part_id)
        return f"uploads/{upload_id}/{part_id}"

    def job_dir(self, job_id: str) -> Path:
        return self.root / "jobs" / job_id

    def remove(self, relative: str | Path) -> None:
        path = self.root / relative
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)

    def discard(self, path: Path) -> None:
        path.unlink(missing_ok=True)

    def sweep_incoming(self, max_age: float = INCOMING_MAX_AGE_SECONDS) -> int:
        """Remove what a crashed or killed request left in incoming/; returns how many."""
        cutoff, removed = time.time() - max_age, 0
        for entry in os.scandir(self.root / "incoming"):
            try:
                if entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    self.remove(Path("incoming") / entry.name)
                    removed += 1
            except FileNotFoundError:  # its request finished meanwhile
                continue
        return removed

    def problem(self) -> str | None:
        """Why the data dir cannot take new bytes, or None."""
        for sub in ("files", "uploads", "jobs", "incoming"):
            if not os.access(self.root / sub, os.W_OK | os.X_OK):
                return f"the data dir's {sub}/ folder is not writable"
        free = free_bytes(self.root)
        if free < MIN_FREE_BYTES:
            return f"the data dir's disk is full ({free} bytes free)"
        return None


def free_bytes(path: Path) -> int:
    """The bytes an unprivileged writer can still put on ``path``'s file system."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write refused for want of space (a full disk or an exhausted quota)."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def first_non_jsonl_line(path: Path) -> tuple[int, str] | None:
    """Stream the file; return (line number, reason) of the first line that is not a JSON object."""
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                return number, f"invalid JSON ({exc.msg if hasattr(exc, 'msg') else 'not UTF-8'})"
            except RecursionError:
                return number, "invalid JSON (nested too deeply)"
            if not isinstance(value, dict):
                return number, "not a JSON object"
    return None

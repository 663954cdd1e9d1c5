"""Streaming a JSONL file line by line, one parsed object (or one problem) per non-blank line."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

BOM = b"\xef\xbb\xbf"


def read_rows(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Yield (line number, row) for each non-blank line; row is a dict or an error message.

    The file is read in binary, one line at a time, so its size does not matter and a bad
    byte sequence spoils only its own line.
    """
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            raw = line[len(BOM) :] if number == 1 and line.startswith(BOM) else line
            if raw.strip():
                yield number, parse_row(raw)


def parse_row(raw: bytes) -> dict[str, Any] | str:
    """Parse one line into a JSON object, or return why it is not one."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "Invalid UTF-8"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "Invalid JSON"
    if not isinstance(value, dict):
        return "Expected a JSON object"
    return value


def read_objects(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every row of a file that validation accepted, read exactly as validation read it (a UTF-8
    BOM, CRLF line ends and blank lines are fine); ValueError naming the line if one is not an
    object (the file changed since it was validated)."""
    rows = []
    for number, row in read_rows(path):
        if isinstance(row, str):
            raise ValueError(f"line {number} of {os.fspath(path)}: {row}")
        rows.append(row)
    return rows

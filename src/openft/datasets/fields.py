"""Checks on the fields of one JSON object: unknown keys and fields of the wrong type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openft.datasets.report import Problem


def unknown_keys(value: dict[str, Any], *, allowed: tuple[str, ...], path: str) -> Iterator[Problem]:
    """One problem per key of `value` that is not in `allowed`."""
    for key in value:
        if key not in allowed:
            yield join(path, key), f"Unrecognized key {key!r}"


def required_string(value: dict[str, Any], key: str, *, path: str) -> Iterator[Problem]:
    """`value[key]` must be present and a string."""
    if key not in value:
        yield join(path, key), f"{key} is required"
    elif not isinstance(value[key], str):
        yield join(path, key), f"{key} must be a string"


def optional_string(value: dict[str, Any], key: str, *, path: str) -> Iterator[Problem]:
    """`value[key]` may be absent; when present it must be a string."""
    if key in value and not isinstance(value[key], str):
        yield join(path, key), f"{key} must be a string"


def optional_bool(value: dict[str, Any], key: str, *, path: str) -> Iterator[Problem]:
    """`value[key]` may be absent; when present it must be true or false."""
    if key in value and not isinstance(value[key], bool):
        yield join(path, key), f"{key} must be a boolean"


def join(path: str, key: str) -> str:
    """The path of `key` inside the object at `path` ("" for the row itself)."""
    return f"{path}.{key}" if path else key

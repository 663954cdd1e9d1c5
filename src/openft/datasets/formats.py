"""The four training-data formats: how a row is recognised and which method takes each."""

from __future__ import annotations

from typing import Any

METHODS = ("supervised", "dpo", "reinforcement")
ROLES = ("training", "validation")

# The fine-tuning method each format is meant for.
FORMAT_METHOD = {
    "chat": "supervised",
    "completion": "supervised",
    "preference": "dpo",
    "reinforcement": "reinforcement",
}

# The format names OpenAI uses in its error messages.
WIRE_NAMES = {
    "chat": "fine-tune-chat",
    "completion": "fine-tune-completion",
    "preference": "fine-tune-preference",
    "reinforcement": "fine-tune-reinforcement",
}

# What a method expects, as said in "Unexpected file format, expected ...".
EXPECTED_BY_METHOD = {
    "supervised": "either prompt/completion pairs or chat messages",
    "dpo": "preference pairs with input, preferred_output and non_preferred_output",
    "reinforcement": "chat messages",
}

PREFERENCE_KEYS = ("input", "preferred_output", "non_preferred_output")
COMPLETION_KEYS = ("prompt", "completion")


def detect_format(row: dict[str, Any], *, method: str) -> str | None:
    """The format a row is written in, from its keys; None when it looks like none of them.

    A "messages" row is a reinforcement example for a reinforcement job and a chat example
    for any other job: the two formats share their shape.
    """
    if "messages" in row:
        return "reinforcement" if method == "reinforcement" else "chat"
    if any(key in row for key in PREFERENCE_KEYS):
        return "preference"
    if any(key in row for key in COMPLETION_KEYS):
        return "completion"
    return None


def accepts(method: str, file_format: str) -> bool:
    """Whether a job with this training method can train on a file in this format."""
    return FORMAT_METHOD[file_format] == method


def check_arguments(*, method: str, role: str) -> None:
    """Reject a method or file role that is not one of the known ones."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def unexpected_row(method: str) -> str:
    """The row error for a row in none of the formats."""
    return f"Unexpected format, expected {EXPECTED_BY_METHOD[method]}"


def mixed_row(row_format: str, file_format: str) -> str:
    """The row error for a row in another format than the file's first example."""
    return (
        f"Row is in the {WIRE_NAMES[row_format]} format, "
        f"but the file is in the {WIRE_NAMES[file_format]} format"
    )

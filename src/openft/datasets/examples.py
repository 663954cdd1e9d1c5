"""One example (one JSONL row) in each of the four training-data formats."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openft.datasets.fields import join, optional_bool, required_string, unknown_keys
from openft.datasets.messages import CHAT_ROLES, REINFORCEMENT_ROLES, check_messages
from openft.datasets.report import Problem
from openft.datasets.tools import check_functions, check_tools

OUTPUT_KEYS = ("preferred_output", "non_preferred_output")


def check_chat(row: dict[str, Any]) -> Iterator[Problem]:
    """{"messages": [...], "tools"?, "parallel_tool_calls"?, "functions"?}, with an assistant turn."""
    yield from check_messages(row.get("messages"), roles=CHAT_ROLES, path="messages")
    yield from tool_options(row, path="")
    if "functions" in row:
        yield from check_functions(row["functions"], path="functions")
    if not has_assistant(row.get("messages")):
        yield "messages", "Example has no assistant message"


def has_assistant(messages: Any) -> bool:
    """Whether the example has an assistant turn; True when its roles are not all known yet."""
    if not isinstance(messages, list) or not messages:
        return True  # the list itself is already reported
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    if any(role not in CHAT_ROLES for role in roles):
        return True  # a message without a known role is already reported
    return "assistant" in roles


def check_completion(row: dict[str, Any]) -> Iterator[Problem]:
    """{"prompt": str, "completion": str}."""
    yield from required_string(row, "prompt", path="")
    yield from required_string(row, "completion", path="")


def check_preference(row: dict[str, Any]) -> Iterator[Problem]:
    """{"input": {"messages", ...}, "preferred_output": [msg], "non_preferred_output": [msg]}."""
    yield from check_input(row.get("input"))
    for key in OUTPUT_KEYS:
        yield from check_output(row.get(key), path=key)


def check_input(value: Any) -> Iterator[Problem]:
    if value is None:
        yield "input", "input is required"
        return
    if not isinstance(value, dict):
        yield "input", "input must be an object with messages"
        return
    allowed = ("messages", "tools", "parallel_tool_calls")
    yield from unknown_keys(value, allowed=allowed, path="input")
    yield from check_messages(value.get("messages"), roles=CHAT_ROLES, path="input.messages")
    yield from tool_options(value, path="input")


def check_output(value: Any, *, path: str) -> Iterator[Problem]:
    """A preferred or non-preferred output: exactly one assistant message with text content."""
    if value is None:
        yield path, f"{path} is required"
        return
    if not isinstance(value, list) or len(value) != 1:
        yield path, f"{path} must be a list of exactly one assistant message"
        return
    message, path = value[0], f"{path}[0]"
    if not isinstance(message, dict):
        yield path, "Expected a message object"
        return
    yield from unknown_keys(message, allowed=("role", "content", "name"), path=path)
    if message.get("role") != "assistant":
        yield f"{path}.role", "role must be 'assistant'"
    if not isinstance(message.get("content"), str):
        yield f"{path}.content", "content must be a string (text only)"


def check_reinforcement(row: dict[str, Any]) -> Iterator[Problem]:
    """{"messages": [...], "tools"?: [...], ...}; every other key is free-form item data."""
    yield from check_messages(row.get("messages"), roles=REINFORCEMENT_ROLES, path="messages")
    if "tools" in row:
        yield from check_tools(row["tools"], path="tools")


def tool_options(value: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """`tools` and `parallel_tool_calls` of a chat example or a preference input."""
    if "tools" in value:
        yield from check_tools(value["tools"], path=join(path, "tools"))
    yield from optional_bool(value, "parallel_tool_calls", path=path)


CHECKS = {
    "chat": check_chat,
    "completion": check_completion,
    "preference": check_preference,
    "reinforcement": check_reinforcement,
}

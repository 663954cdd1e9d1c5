"""Chat messages: a non-empty list of role-tagged messages, checked role by role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openft.datasets.content import check_content
from openft.datasets.fields import optional_string, required_string
from openft.datasets.report import Problem
from openft.datasets.tools import check_function_call, check_tool_calls

CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
REINFORCEMENT_ROLES = ("developer", "system", "user", "assistant", "tool")

KEYS_BY_ROLE = {
    "system": ("role", "content", "name"),
    "developer": ("role", "content", "name"),
    "user": ("role", "content", "name"),
    "assistant": ("role", "content", "name", "tool_calls", "function_call", "weight"),
    "tool": ("role", "content", "tool_call_id"),
    "function": ("role", "content", "name"),
}


def check_messages(messages: Any, *, roles: tuple[str, ...], path: str) -> Iterator[Problem]:
    """Check every message of a `messages` list; `path` names the list, e.g. "messages"."""
    if not isinstance(messages, list) or not messages:
        yield path, "Expected a non-empty list of messages"
        return
    for index, message in enumerate(messages):
        yield from check_message(message, roles=roles, path=f"{path}[{index}]")


def check_message(message: Any, *, roles: tuple[str, ...], path: str) -> Iterator[Problem]:
    """Check one message against the rules of its role."""
    if not isinstance(message, dict):
        yield path, "Expected a message object"
        return
    role = message.get("role")
    if "role" not in message:
        yield f"{path}.role", "Discriminator 'role' is missing in value"
    elif role not in roles:
        yield f"{path}.role", unrecognized_role(role)
    else:
        yield from message_keys(message, role=role, path=path)
        yield from ROLE_CHECKS[role](message, path=path)


def unrecognized_role(role: Any) -> str:
    return f"Unrecognized role '{role}'" if isinstance(role, str) else "role must be a string"


def message_keys(message: dict[str, Any], *, role: str, path: str) -> Iterator[Problem]:
    """Unknown keys of a message; `weight` gets its own message outside assistant turns."""
    allowed = KEYS_BY_ROLE[role]
    for key in message:
        if key == "weight" and key not in allowed:
            yield f"{path}.weight", "weight is only allowed on assistant messages"
        elif key not in allowed:
            yield f"{path}.{key}", f"Unrecognized key {key!r}"


def check_plain(message: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """system, developer and user messages: content required, optional name."""
    yield from required_content(message, path=path)
    yield from optional_string(message, "name", path=path)


def check_assistant(message: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """Assistant messages: content, or tool_calls / function_call instead of it; weight 0 or 1."""
    calls = "tool_calls" in message or "function_call" in message
    if not calls or message.get("content") is not None:
        yield from required_content(message, path=path)
    yield from optional_string(message, "name", path=path)
    if "tool_calls" in message:
        yield from check_tool_calls(message["tool_calls"], path=f"{path}.tool_calls")
    if "function_call" in message:
        yield from check_function_call(message["function_call"], path=f"{path}.function_call")
    if "weight" in message and not is_weight(message["weight"]):
        yield f"{path}.weight", "weight must be 0 or 1"


def is_weight(value: Any) -> bool:
    return type(value) is int and value in (0, 1)


def check_tool(message: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """Tool results: tool_call_id and content."""
    if "tool_call_id" not in message:
        yield f"{path}.tool_call_id", "tool_call_id is required for tool messages"
    else:
        yield from required_string(message, "tool_call_id", path=path)
    yield from required_content(message, path=path)


def check_function(message: dict[str, Any], *, path: str) -> Iterator[Problem]:
    """Deprecated function results: name and content."""
    yield from required_string(message, "name", path=path)
    yield from required_content(message, path=path)


def required_content(message: dict[str, Any], *, path: str) -> Iterator[Problem]:
    if message.get("content") is None:
        yield f"{path}.content", "content is required"
    else:
        yield from check_content(message["content"], role=message["role"], path=f"{path}.content")


ROLE_CHECKS = {
    "system": check_plain,
    "developer": check_plain,
    "user": check_plain,
    "assistant": check_assistant,
    "tool": check_tool,
    "function": check_function,
}

"""Function tools offered to the model (tools, functions) and the calls it makes (tool_calls)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openft.datasets.fields import optional_string, required_string, unknown_keys
from openft.datasets.report import Problem

MAX_FUNCTIONS = 128


def check_tools(tools: Any, *, path: str) -> Iterator[Problem]:
    """`tools`: a list of {"type": "function", "function": {name, description?, parameters?}}."""
    if not isinstance(tools, list):
        yield path, "tools must be a list"
        return
    for index, tool in enumerate(tools):
        yield from check_tool(tool, path=f"{path}[{index}]")


def check_tool(tool: Any, *, path: str) -> Iterator[Problem]:
    if not isinstance(tool, dict):
        yield path, "Expected a tool object"
        return
    yield from unknown_keys(tool, allowed=("type", "function"), path=path)
    if tool.get("type") != "function":
        yield f"{path}.type", "type must be 'function'"
    if "function" not in tool:
        yield f"{path}.function", "function is required"
    else:
        yield from check_function(tool["function"], path=f"{path}.function")


def check_functions(functions: Any, *, path: str) -> Iterator[Problem]:
    """Deprecated `functions`: a list of 1 to 128 function definitions."""
    if not isinstance(functions, list) or not 1 <= len(functions) <= MAX_FUNCTIONS:
        yield path, f"functions must be a list of 1 to {MAX_FUNCTIONS} functions"
        return
    for index, function in enumerate(functions):
        yield from check_function(function, path=f"{path}[{index}]")


def check_function(function: Any, *, path: str) -> Iterator[Problem]:
    """A function definition: {name, description?, parameters?, strict?}."""
    if not isinstance(function, dict):
        yield path, "Expected a function object"
        return
    allowed = ("name", "description", "parameters", "strict")
    yield from unknown_keys(function, allowed=allowed, path=path)
    yield from required_string(function, "name", path=path)
    yield from optional_string(function, "description", path=path)
    if "parameters" in function and not isinstance(function["parameters"], dict):
        yield f"{path}.parameters", "parameters must be a JSON schema object"


def check_tool_calls(calls: Any, *, path: str) -> Iterator[Problem]:
    """An assistant's `tool_calls`: [{id, type: "function", function: {name, arguments}}]."""
    if not isinstance(calls, list) or not calls:
        yield path, "tool_calls must be a non-empty list"
        return
    for index, call in enumerate(calls):
        yield from check_tool_call(call, path=f"{path}[{index}]")


def check_tool_call(call: Any, *, path: str) -> Iterator[Problem]:
    if not isinstance(call, dict):
        yield path, "Expected a tool call object"
        return
    yield from unknown_keys(call, allowed=("id", "type", "function"), path=path)
    yield from required_string(call, "id", path=path)
    if call.get("type") != "function":
        yield f"{path}.type", "type must be 'function'"
    yield from check_function_call(call.get("function"), path=f"{path}.function")


def check_function_call(call: Any, *, path: str) -> Iterator[Problem]:
    """A call of one function: {name, arguments} with arguments a JSON-encoded string."""
    if not isinstance(call, dict):
        yield path, "function call must be an object with name and arguments"
        return
    yield from unknown_keys(call, allowed=("name", "arguments"), path=path)
    yield from required_string(call, "name", path=path)
    yield from required_string(call, "arguments", path=path)

"""Grader template strings: `{{ item.<path> }}` and `{{ sample.<path> }}` placeholders.

A path is dotted names with optional `[int]` indexes (`sample.output_tools[0].function.name`);
whitespace is allowed inside the braces. Only the `item` and `sample` namespaces exist.
Rendering substitutes strings as they are and any other value as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "NAMESPACES",
    "InvalidVariableError",
    "Placeholder",
    "TemplateError",
    "check_template",
    "find_placeholders",
    "lookup",
    "render",
]

NAMESPACES = ("item", "sample")

_OPEN, _CLOSE = "{{", "}}"
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]")
_NAMESPACE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A malformed template: unknown namespace, bad path, empty or unclosed placeholder."""


class InvalidVariableError(LookupError):
    """A placeholder names a value that the item or the sample does not have."""


@dataclass(frozen=True)
class Placeholder:
    """One `{{ ... }}` occurrence: `text[start:end]` is the whole placeholder."""

    start: int
    end: int
    namespace: str
    path: tuple[str | int, ...]

    @property
    def variable(self) -> str:
        """The placeholder's expression without whitespace, e.g. `sample.output_tools[0].id`."""
        parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path]
        return self.namespace + "".join(parts)


def find_placeholders(text: str) -> list[Placeholder]:
    """Every placeholder of `text`, in order; raises TemplateError for a malformed one."""
    found: list[Placeholder] = []
    pos = text.find(_OPEN)
    while pos != -1:
        end = text.find(_CLOSE, pos + len(_OPEN))
        if end == -1:
            raise TemplateError(f"unclosed placeholder starting at {text[pos : pos + 30]!r}")
        end += len(_CLOSE)
        found.append(_parse(text[pos + len(_OPEN) : end - len(_CLOSE)].strip(), pos, end))
        pos = text.find(_OPEN, end)
    return found


def check_template(text: str) -> list[Placeholder]:
    """Validate every placeholder of `text` (TemplateError on the first bad one)."""
    return find_placeholders(text)


def _parse(expr: str, start: int, end: int) -> Placeholder:
    shown = "{{ " + expr + " }}"
    if not expr:
        raise TemplateError("empty placeholder '{{ }}'")
    head = _NAMESPACE.match(expr)
    namespace = head.group() if head else ""
    if head is None or namespace not in NAMESPACES:
        raise TemplateError(
            f"unknown namespace {namespace or expr!r} in placeholder {shown!r} (use item or sample)"
        )
    pos, path = head.end(), []
    while pos < len(expr):
        segment = _SEGMENT.match(expr, pos)
        if segment is None:
            raise TemplateError(f"malformed variable path in placeholder {shown!r}")
        name, index = segment.groups()
        path.append(name if name is not None else int(index))
        pos = segment.end()
    if not path:
        raise TemplateError(f"placeholder {shown!r} must name a variable, e.g. {{{{ {namespace}.name }}}}")
    return Placeholder(start, end, namespace, tuple(path))


def lookup(placeholder: Placeholder, *, sample: Mapping[str, Any], item: Mapping[str, Any]) -> Any:
    """The value a placeholder refers to; InvalidVariableError when it does not exist."""
    value: Any = sample if placeholder.namespace == "sample" else item
    for part in placeholder.path:
        value = _step(value, part, placeholder)
    return value


def _step(value: Any, part: str | int, placeholder: Placeholder) -> Any:
    if isinstance(part, int):
        ok = isinstance(value, Sequence) and not isinstance(value, str) and part < len(value)
    else:
        ok = isinstance(value, Mapping) and part in value
    if not ok:
        raise InvalidVariableError(f"variable {placeholder.variable!r} does not exist")
    return value[part]


def render(text: str, *, sample: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """Substitute every placeholder of `text`; strings as they are, other values as JSON."""
    pieces, pos = [], 0
    for placeholder in find_placeholders(text):
        value = lookup(placeholder, sample=sample, item=item)
        pieces += [text[pos : placeholder.start], value if isinstance(value, str) else _json(value)]
        pos = placeholder.end
    pieces.append(text[pos:])
    return "".join(pieces)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)

"""`string_check`: compare the rendered input with the rendered reference; 1.0 or 0.0.

As OpenAI defines the operations: `eq` / `ne` are case-sensitive equality and inequality,
`like` is a case-sensitive *substring* test (input contains reference, no SQL wildcards) and
`ilike` the same ignoring case. An empty reference is therefore contained in any input.
"""

from __future__ import annotations

from openft.graders.sample import Namespaces
from openft.schemas.graders import StringCheckGrader

__all__ = ["check_strings", "grade_string_check"]


def check_strings(operation: str, text: str, reference: str) -> bool:
    if operation == "eq":
        return text == reference
    if operation == "ne":
        return text != reference
    if operation == "like":
        return reference in text
    if operation == "ilike":
        return reference.casefold() in text.casefold()
    raise ValueError(f"unknown string_check operation {operation!r}")


def grade_string_check(grader: StringCheckGrader, names: Namespaces, max_bytes: int | None = None) -> float:
    text, reference = names.render(grader.input, max_bytes), names.render(grader.reference, max_bytes)
    return 1.0 if check_strings(grader.operation, text, reference) else 0.0

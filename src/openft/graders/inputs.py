"""The size limits of what `/fine_tuning/alpha/graders/run` grades: `model_sample` and each text
template of the grader (`input`, `reference` of string_check and text_similarity, in a multi
grader too) at most `grader_max_sample_bytes` (64 KiB) of UTF-8, `item` at most
`grader_max_item_bytes` (1 MiB) as JSON. Over a limit is a 400 naming the field; the rendered
texts are held to the sample limit again when grading (`Namespaces.render`).
"""

from __future__ import annotations

import json
from typing import Any

from openft.errors import InvalidRequest

__all__ = ["check_inputs"]

TEXT_FIELDS = ("input", "reference")


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode())
    return len(json.dumps(value, ensure_ascii=False).encode())


def _too_large(param: str, size: int, limit: int) -> InvalidRequest:
    return InvalidRequest(f"{param} is {size} bytes, over the {limit}-byte limit", param=param)


def _grader_texts(grader: Any, param: str):
    if not isinstance(grader, dict):
        return
    for name in TEXT_FIELDS:
        if isinstance(grader.get(name), str):
            yield f"{param}.{name}", grader[name]
    graders = grader.get("graders")
    if isinstance(graders, dict) and "type" in graders:
        yield from _grader_texts(graders, f"{param}.graders")
    elif isinstance(graders, dict):
        for key, sub in graders.items():
            yield from _grader_texts(sub, f"{param}.graders.{key}")


def check_inputs(
    grader: Any, model_sample: str, item: Any, *, max_sample_bytes: int, max_item_bytes: int
) -> None:
    """Raise a 400 (`param` the field) for the first input over its limit."""
    if (size := _size(model_sample)) > max_sample_bytes:
        raise _too_large("model_sample", size, max_sample_bytes)
    if item is not None and (size := _size(item)) > max_item_bytes:
        raise _too_large("item", size, max_item_bytes)
    for param, text in _grader_texts(grader, "grader"):
        if (size := _size(text)) > max_sample_bytes:
            raise _too_large(param, size, max_sample_bytes)

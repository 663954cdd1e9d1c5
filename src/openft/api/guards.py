"""Input no column can hold, refused before a handler runs: NUL characters anywhere (PostgreSQL text
refuses them) and numbers that are not finite (``NaN``, ``Infinity``, ``1e999``: JSON has none).

One dependency covers the path, the query and a JSON body of the control-plane routes; multipart
fields go through :func:`refuse_nul` as they are parsed. The 400 names the param that carried it.
"""

from __future__ import annotations

import json
import math

from fastapi import Request

from openft.api.deps import Caller
from openft.errors import InvalidRequest


def refuse_nul(param: str, value: str) -> None:
    if "\x00" in value:
        raise InvalidRequest(
            f"Invalid '{param}': the value may not contain NUL (\\u0000) characters.",
            param=param,
            code="invalid_value",
        )


def _refuse_non_finite(param: str, value: float) -> None:
    if not math.isfinite(value):
        raise InvalidRequest(
            f"Invalid '{param}': expected a finite number, but got {value!r}.",
            param=param,
            code="invalid_value",
        )


def _child(parent: str, key) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else str(key)


def check_json(value) -> None:
    """Walk a parsed JSON value (iteratively: it may be nested as deep as the parser allows)."""
    stack = [("", value)]
    while stack:
        param, node = stack.pop()
        if isinstance(node, str):
            refuse_nul(param or "body", node)
        elif isinstance(node, float):
            _refuse_non_finite(param or "body", node)
        elif isinstance(node, dict):
            for key, item in node.items():
                refuse_nul(_child(param, key.replace("\x00", "")) or "body", key)
                stack.append((_child(param, key), item))
        elif isinstance(node, list):
            stack.extend((_child(param, index), item) for index, item in enumerate(node))


def _is_json(request: Request) -> bool:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


async def refuse_unstorable(request: Request, _caller: Caller) -> None:
    """A route dependency: path parameters, query parameters and a JSON body (once the caller is
    authenticated: a bad key is a 401 whatever the input)."""
    for name, value in request.path_params.items():
        refuse_nul(name, str(value))
    for key, value in request.query_params.multi_items():
        refuse_nul(key.replace("\x00", ""), key + value)
    if request.method in ("POST", "PUT", "PATCH") and _is_json(request):
        body = await request.body()  # FastAPI has read (and cached) it already for a JSON route
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError):
            return  # FastAPI answers an unparsable body with its own 400
        check_json(parsed)

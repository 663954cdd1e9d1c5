"""List envelopes: ``{"object": "list", "data": [...], "has_more": ...}`` (+ first_id / last_id)."""

from __future__ import annotations

from typing import Any


def cursor_list(items: list[Any], has_more: bool, *, with_ids: bool) -> dict:
    data = [item.model_dump(mode="json") for item in items]
    body: dict = {"object": "list", "data": data, "has_more": has_more}
    if with_ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body

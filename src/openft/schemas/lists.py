"""List envelopes: ``{"object": "list", "data": [...], "has_more": ...}`` (+ first_id / last_id)."""

from __future__ import annotations

import json
from typing import Any, Literal


def envelope(data: list[dict], has_more: bool, *, with_ids: bool = True) -> dict:
    """The envelope of items already dumped to JSON values."""
    body: dict = {"object": "list", "data": data, "has_more": has_more}
    if with_ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


def cursor_list_json(items: list[Any], has_more: bool, *, with_ids: bool) -> bytes:
    """The envelope of ``items`` (pydantic models with an ``id``) as JSON bytes, with the keys of
    ``envelope`` in its order: each item serialized by pydantic straight to JSON, not dumped to
    a dict that ``json`` then walks again (a page of 20 jobs: 31-39 us, against 150-200 us)."""
    data = b",".join(item.__pydantic_serializer__.to_json(item) for item in items)
    parts = [b'{"object":"list","data":[', data, b'],"has_more":', b"true" if has_more else b"false"]
    if with_ids:
        first, last = (items[0].id, items[-1].id) if items else (None, None)
        parts += [b',"first_id":', json.dumps(first).encode(), b',"last_id":', json.dumps(last).encode()]
    return b"".join([*parts, b"}"])


def held_page(items: list[dict], *, after: str | None, limit: int, order: Literal["asc", "desc"]) -> dict:
    """A page of a list held whole (oldest first: a response's input items, a completion's
    messages), in ``order``, of the ``limit`` items after the one whose id is ``after``."""
    ordered = items[::-1] if order == "desc" else list(items)
    ids = [item["id"] for item in ordered]
    start = ids.index(after) + 1 if after in ids else (len(ordered) if after is not None else 0)
    return envelope(ordered[start : start + limit], start + limit < len(ordered))

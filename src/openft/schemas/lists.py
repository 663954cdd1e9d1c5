"""List envelopes: ``{"object": "list", "data": [...], "has_more": ...}`` (+ first_id / last_id)."""

from __future__ import annotations

from typing import Any, Literal


def envelope(data: list[dict], has_more: bool, *, with_ids: bool = True) -> dict:
    """The envelope of items already dumped to JSON values."""
    body: dict = {"object": "list", "data": data, "has_more": has_more}
    if with_ids:
        body["first_id"] = data[0]["id"] if data else None
        body["last_id"] = data[-1]["id"] if data else None
    return body


def cursor_list(items: list[Any], has_more: bool, *, with_ids: bool) -> dict:
    return envelope([item.model_dump(mode="json") for item in items], has_more, with_ids=with_ids)


def held_page(items: list[dict], *, after: str | None, limit: int, order: Literal["asc", "desc"]) -> dict:
    """A page of a list held whole (oldest first: a response's input items, a completion's
    messages), in ``order``, of the ``limit`` items after the one whose id is ``after``."""
    ordered = items[::-1] if order == "desc" else list(items)
    ids = [item["id"] for item in ordered]
    start = ids.index(after) + 1 if after in ids else (len(ordered) if after is not None else 0)
    return envelope(ordered[start : start + limit], start + limit < len(ordered))

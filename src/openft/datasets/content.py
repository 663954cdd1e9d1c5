"""Message content: a string or a list of text / image_url content parts."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from openft.datasets.fields import required_string, unknown_keys
from openft.datasets.report import Problem

IMAGE_DETAILS = ("low", "high", "auto")
IMAGE_ROLES = ("user",)


def check_content(content: Any, *, role: str, path: str) -> Iterator[Problem]:
    """Check a message's content; `path` names the content field, e.g. "messages[0].content"."""
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        yield path, "content must be a string or a list of content parts"
        return
    if not content:
        yield path, "content must not be an empty list"
    for index, part in enumerate(content):
        yield from check_part(part, role=role, path=f"{path}[{index}]")


def check_part(part: Any, *, role: str, path: str) -> Iterator[Problem]:
    """Check one content part: {"type": "text", ...} or {"type": "image_url", ...}."""
    if not isinstance(part, dict):
        yield path, "Expected a content part object"
        return
    kind = part.get("type")
    if kind == "text":
        yield from check_text_part(part, path=path)
    elif kind == "image_url":
        yield from check_image_part(part, role=role, path=path)
    elif kind is None:
        yield path, "Discriminator 'type' is missing in value"
    else:
        yield path, f"Unrecognized content part type {kind!r}"


def check_text_part(part: dict[str, Any], *, path: str) -> Iterator[Problem]:
    yield from unknown_keys(part, allowed=("type", "text"), path=path)
    yield from required_string(part, "text", path=path)


def check_image_part(part: dict[str, Any], *, role: str, path: str) -> Iterator[Problem]:
    if role not in IMAGE_ROLES:
        yield path, f"Images are not allowed in {role} messages"
        return
    yield from unknown_keys(part, allowed=("type", "image_url"), path=path)
    image = part.get("image_url")
    if not isinstance(image, dict):
        yield f"{path}.image_url", "image_url must be an object with a url"
        return
    yield from unknown_keys(image, allowed=("url", "detail"), path=f"{path}.image_url")
    yield from required_string(image, "url", path=f"{path}.image_url")
    if "detail" in image and image["detail"] not in IMAGE_DETAILS:
        yield f"{path}.image_url.detail", "detail must be one of 'low', 'high', 'auto'"

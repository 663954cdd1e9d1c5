"""Stored chat completions on the wire: metadata, the update body, a stored message, the deletion."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Metadata = Annotated[  # as OpenAI bounds it: 16 pairs, keys of 64 characters, values of 512
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=512)]], Field(max_length=16)
]


class CompletionUpdate(BaseModel):
    """POST /v1/chat/completions/{id}: only the metadata can change (null clears it)."""

    model_config = ConfigDict(extra="forbid")
    metadata: Metadata | None


class StoredMessage(BaseModel):
    """A message of a stored completion's request, as ``/messages`` lists it."""

    id: str
    role: str
    content: str | None
    name: str | None = None
    content_parts: list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = Field(default=None, exclude_if=lambda calls: calls is None)
    tool_call_id: str | None = Field(default=None, exclude_if=lambda value: value is None)


class ChatCompletionDeleted(BaseModel):
    id: str
    object: Literal["chat.completion.deleted"] = "chat.completion.deleted"
    deleted: bool

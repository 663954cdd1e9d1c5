"""Stored chat completions: ``store: true`` keeps a chat request and its completion; /v1/chat/completions
lists them (by ``model`` and ``metadata[key]``), retrieves, updates the metadata of and deletes them,
and ``/messages`` lists the request's messages. Each project sees only its own."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request

from openft.api.deps import Caller, Svc
from openft.api.fine_tuning import metadata_filter
from openft.errors import InvalidRequest, completion_not_found
from openft.schemas.chat import ChatCompletionRequest
from openft.schemas.lists import envelope, held_page
from openft.schemas.stored_completions import ChatCompletionDeleted, CompletionUpdate, StoredMessage
from openft.store import completions as completion_store
from openft.store.tables import StoredCompletionRow

router = APIRouter(tags=["chat"])


def keep_completion(svc, caller, body: ChatCompletionRequest, completion: dict) -> None:
    """Store a completion made with ``store: true`` (called once the reply is whole)."""
    row = StoredCompletionRow(
        id=completion["id"],
        project_id=caller.project_id,
        created_at=completion["created"],
        model=body.model,
        metadata_=body.metadata,
        request=body.model_dump(mode="json", by_alias=True, exclude_none=True),
        completion={key: value for key, value in completion.items() if key != "metadata"},
    )
    with svc.db.write() as session:
        completion_store.add_completion(session, row=row)


def stored_object(row: StoredCompletionRow) -> dict:
    """The ChatCompletion as created, with its metadata as it is now."""
    return {**row.completion, "metadata": row.metadata_}


def _row(session, caller, completion_id: str) -> StoredCompletionRow:
    row = completion_store.get_completion(session, project_id=caller.project_id, completion_id=completion_id)
    if row is None:
        raise completion_not_found(completion_id)
    return row


@router.get("/chat/completions")
def list_stored_completions(
    request: Request,
    svc: Svc,
    caller: Caller,
    model: str | None = None,
    after: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    order: Literal["asc", "desc"] = "asc",
):
    filters, metadata_null = metadata_filter(request)
    if metadata_null:
        raise InvalidRequest(
            "Filter by 'metadata[key]=value'; 'metadata=null' is not supported.", param="metadata"
        )
    with svc.db.read() as session:
        page = completion_store.list_completions(
            session,
            project_id=caller.project_id,
            model=model,
            metadata=filters,
            after=after,
            limit=limit,
            ascending=order == "asc",
        )
        return envelope([stored_object(row) for row in page.items], page.has_more)


@router.get("/chat/completions/{completion_id}")
def retrieve_stored_completion(completion_id: str, svc: Svc, caller: Caller):
    with svc.db.read() as session:
        return stored_object(_row(session, caller, completion_id))


@router.post("/chat/completions/{completion_id}")
def update_stored_completion(completion_id: str, body: CompletionUpdate, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        row = _row(session, caller, completion_id)
        completion_store.set_metadata(session, row=row, metadata=body.metadata)
        return stored_object(row)


@router.delete("/chat/completions/{completion_id}", response_model=ChatCompletionDeleted)
def delete_stored_completion(completion_id: str, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        completion_store.delete_completion(session, row=_row(session, caller, completion_id))
    return ChatCompletionDeleted(id=completion_id, deleted=True)


@router.get("/chat/completions/{completion_id}/messages")
def list_stored_messages(
    completion_id: str,
    svc: Svc,
    caller: Caller,
    after: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    order: Literal["asc", "desc"] = "asc",
):
    with svc.db.read() as session:
        row = _row(session, caller, completion_id)
    messages = [_message(f"{completion_id}-{i}", m) for i, m in enumerate(row.request["messages"])]
    return held_page([m.model_dump(mode="json") for m in messages], after=after, limit=limit, order=order)


def _message(message_id: str, message: dict) -> StoredMessage:
    content = message.get("content")
    parts = content if isinstance(content, list) else None
    if parts is not None:
        content = "".join(part.get("text") or part.get("refusal") or "" for part in parts)
    return StoredMessage(
        id=message_id,
        role=message["role"],
        content=content,
        name=message.get("name"),
        content_parts=parts,
        tool_calls=message.get("tool_calls"),
        tool_call_id=message.get("tool_call_id"),
    )

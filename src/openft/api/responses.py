"""/v1/responses: the Responses API on base, fine-tuned and checkpoint models, answered through the
chat path (``response_requests`` translates, ``response_reply`` shapes the answer). ``store``
(the default) keeps the response, its input items and its conversation, which
``previous_response_id`` continues; retrieve, delete and ``input_items`` read them, per project."""

from __future__ import annotations

from functools import partial
from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from openft import ids
from openft.api.chat import answer
from openft.api.completion_requests import chat_job, used_tools
from openft.api.deps import Caller, Svc
from openft.api.response_reply import ResponseReply
from openft.api.response_requests import Translation, output_messages, translate
from openft.errors import response_not_found
from openft.schemas.lists import held_page
from openft.schemas.responses import ResponseDeleted, ResponseRequest
from openft.store import responses as response_store
from openft.store.tables import ResponseRow

router = APIRouter(tags=["responses"])


@router.post("/responses")
async def create_response(body: ResponseRequest, request: Request, svc: Svc, caller: Caller):
    previous = []
    if body.previous_response_id is not None:
        previous = await run_in_threadpool(_conversation, svc, caller, body.previous_response_id)
    plan = translate(body, previous)
    target = await run_in_threadpool(svc.locate_model, caller.project_id, body.model)
    job = chat_job(plan.chat, target)
    response_id = "resp_" + ids.random_token(48)
    reply = ResponseReply(body, plan.chat, used_tools(plan.chat), response_id=response_id, created=ids.now())
    keep = partial(_keep, svc, caller, body, plan) if body.store is not False else None
    return await answer(request, job, reply, streaming=bool(body.stream), keep=keep)


def _conversation(svc, caller, response_id: str) -> list[dict]:
    with svc.db.read() as session:
        row = response_store.get_response(session, project_id=caller.project_id, response_id=response_id)
    if row is None:
        raise response_not_found(response_id, param="previous_response_id")
    return row.conversation


def _keep(svc, caller, body: ResponseRequest, plan: Translation, response: dict) -> None:
    row = ResponseRow(
        id=response["id"],
        project_id=caller.project_id,
        created_at=response["created_at"],
        request=body.model_dump(mode="json", by_alias=True, exclude_none=True),
        response=response,
        input_items=plan.items,
        conversation=plan.history + output_messages(response),
    )
    with svc.db.write() as session:
        response_store.add_response(session, row=row)


def _row(session, caller, response_id: str) -> ResponseRow:
    row = response_store.get_response(session, project_id=caller.project_id, response_id=response_id)
    if row is None:
        raise response_not_found(response_id)
    return row


@router.get("/responses/{response_id}")
def retrieve_response(response_id: str, svc: Svc, caller: Caller):
    with svc.db.read() as session:
        return _row(session, caller, response_id).response


@router.delete("/responses/{response_id}", response_model=ResponseDeleted)
def delete_response(response_id: str, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        response_store.delete_response(session, row=_row(session, caller, response_id))
    return ResponseDeleted(id=response_id, deleted=True)


@router.get("/responses/{response_id}/input_items")
def list_input_items(
    response_id: str,
    svc: Svc,
    caller: Caller,
    after: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    order: Literal["asc", "desc"] = "desc",
):
    with svc.db.read() as session:
        items = list(_row(session, caller, response_id).input_items)
    return held_page(items, after=after, limit=limit, order=order)

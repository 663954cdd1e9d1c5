"""/v1/chat/completions and /v1/completions: answers from base, fine-tuned and checkpoint models.

The model name resolves within the caller's project (``catalog``); the engine is created
on the first request (the ML stack loads then, never at start-up). A reply waits for the engine
to accept the job, so bad prompts and unknown models are plain 4xx; a streamed reply is
server-sent events ending with ``data: [DONE]``, and an error after the first byte is sent as a
``data: {"error": ...}`` event.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from openft import ids
from openft.api.chat_reply import ChatReply
from openft.api.completion_reply import CompletionReply
from openft.api.completion_requests import chat_job, completion_job, used_tools
from openft.api.deps import Caller, Svc
from openft.api.stored_completions import keep_completion
from openft.errors import APIError, ServerError
from openft.schemas.chat import ChatCompletionRequest
from openft.schemas.completions import CompletionRequest
from openft.serve.engine import Engine, LazyEngine
from openft.serve.generation import Completed, Failed, GenerationJob
from openft.serve.stream import Stream

router = APIRouter(tags=["chat"])
_engine_lock = threading.Lock()
DISCONNECT_POLL_SECONDS = 0.25


@router.post("/chat/completions")
async def create_chat_completion(body: ChatCompletionRequest, request: Request, svc: Svc, caller: Caller):
    target = await run_in_threadpool(svc.locate_model, caller.project_id, body.model)
    job = chat_job(body, target)
    reply = ChatReply(
        body, used_tools(body), completion_id="chatcmpl-" + ids.random_token(29), created=ids.now()
    )
    keep = partial(keep_completion, svc, caller, body) if body.store else None
    return await answer(request, job, reply, streaming=bool(body.stream), keep=keep)


@router.post("/completions")
async def create_completion(body: CompletionRequest, request: Request, svc: Svc, caller: Caller):
    target = await run_in_threadpool(svc.locate_model, caller.project_id, body.model)
    job = completion_job(body, target)
    reply = CompletionReply(body, completion_id="cmpl-" + ids.random_token(29), created=ids.now())
    return await answer(request, job, reply, streaming=bool(body.stream))


def _engine(request: Request) -> Engine:
    with _engine_lock:
        if getattr(request.app.state, "engine", None) is None:
            request.app.state.engine = LazyEngine(request.app.state.settings)
    return request.app.state.engine.get()


Keep = Callable[[dict], None]  # stores the whole reply (``store: true``), in a worker thread


async def answer(request: Request, job: GenerationJob, reply, *, streaming: bool, keep: Keep | None = None):
    """Run ``job`` and answer with what ``reply`` makes of its events: one JSON body, or server-sent
    events (named after their ``type`` when the reply has ``named_events``, else ending with [DONE])."""
    engine = await run_in_threadpool(_engine, request)
    stream = engine.submit(job, Stream(asyncio.get_running_loop()))
    try:
        first = await stream.next()
        _raise_failure(first)
        reply.accepted(first)
        if streaming:
            return StreamingResponse(_events(stream, reply, keep), media_type="text/event-stream")
        return await _until_done_or_gone(request, stream, reply, keep)
    except BaseException:  # a failure, or the caller went away: the engine stops generating
        stream.cancel()
        raise


async def _until_done_or_gone(request: Request, stream: Stream, reply, keep: Keep | None):
    """The whole reply, unless the caller disconnects first (then generation stops)."""
    collect = asyncio.ensure_future(_collect(stream, reply, keep))
    watch = asyncio.ensure_future(_disconnected(request))
    done, _ = await asyncio.wait({collect, watch}, return_when=asyncio.FIRST_COMPLETED)
    watch.cancel()
    if collect in done:
        return collect.result()
    collect.cancel()
    stream.cancel()
    return Response(status_code=499)  # nobody is there to read it


async def _collect(stream: Stream, reply, keep: Keep | None) -> dict:
    async for event in stream:
        _raise_failure(event)
        reply.on_event(event)
    completion = reply.completion()
    if keep is not None:
        await run_in_threadpool(keep, completion)
    return completion


async def _disconnected(request: Request) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_SECONDS)


async def _events(stream: Stream, reply, keep: Keep | None):
    named = getattr(reply, "named_events", False)
    try:
        for chunk in reply.opening():
            yield _sse(chunk, named)
        async for event in stream:
            if isinstance(event, Failed):
                error = event.error if isinstance(event.error, APIError) else ServerError(str(event.error))
                yield _sse(error.body(), named)
                return
            chunks = reply.on_event(event)
            if isinstance(event, Completed) and keep is not None:  # kept before the last event is sent
                await run_in_threadpool(keep, reply.completion())
            for chunk in chunks:
                yield _sse(chunk, named)
        if not named:
            yield "data: [DONE]\n\n"
    finally:
        stream.cancel()


def _raise_failure(event) -> None:
    if isinstance(event, Failed):
        raise event.error if isinstance(event.error, APIError) else ServerError(str(event.error))


def _sse(payload: dict, named: bool = False) -> str:
    data = f"data: {json.dumps(payload, separators=(',', ':'))}\n\n"
    return f"event: {payload.get('type', 'error')}\n{data}" if named else data

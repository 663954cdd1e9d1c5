"""/v1/fine_tuning/alpha/graders/run and /validate: check a grader, or grade one sample with it.

`validate` echoes the grader when it is valid; an invalid grader (on either endpoint) is a 400
whose `param` names the field inside it, e.g. `grader.graders.email.operation`. `run` grades
`model_sample` against `item` with the same `grade()` the trainer uses: python graders in the
sandbox, score_model / label_model on the external endpoint when `OPENFT_GRADER_API_BASE` is
set, else on this server's engine with the caller's models (aliases, `ft:` models, checkpoints).
Gradings run on a pool of their own (`GRADING_THREADS`), so slow graders queue there and never
take the threads the rest of the API answers with. `model_sample`, `item` and the grader's texts
have size limits (`openft.graders.inputs`, a 400 naming the field); a request whose client
disconnects sets its grading's cancel event, which kills the sandbox or metric worker doing it.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from openft.api import chat
from openft.api.deps import Caller, Svc
from openft.api.errors import translate
from openft.graders.context import GradeContext
from openft.graders.dispatch import grade
from openft.graders.inputs import check_inputs
from openft.graders.model_client import ModelClient
from openft.graders.sample import sample_from_text
from openft.schemas.grader_runs import (
    RunGraderRequest,
    RunGraderResponse,
    ValidateGraderRequest,
    ValidateGraderResponse,
)
from openft.schemas.graders import parse_grader
from openft.serve.grader_client import EngineModelClient

router = APIRouter(tags=["graders"])
GRADING_THREADS = 8
DISCONNECT_POLL_SECONDS = 0.25
_context_lock = threading.Lock()


def _parse(grader: dict) -> BaseModel:
    try:
        return parse_grader(grader)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise translate({**error, "loc": ("grader", *error["loc"])}) from None


@router.post("/fine_tuning/alpha/graders/validate", response_model=ValidateGraderResponse)
def validate_grader(body: ValidateGraderRequest, caller: Caller):
    _parse(body.grader)
    return ValidateGraderResponse(grader=body.grader)


@router.post("/fine_tuning/alpha/graders/run", response_model=RunGraderResponse)
async def run_grader(body: RunGraderRequest, request: Request, svc: Svc, caller: Caller):
    grader = _parse(body.grader)
    settings = request.app.state.settings
    check_inputs(
        body.grader,
        body.model_sample,
        body.item,
        max_sample_bytes=settings.grader_max_sample_bytes,
        max_item_bytes=settings.grader_max_item_bytes,
    )
    context, pool = _grading(request)
    if context.models is None:
        context = context.with_models(_engine_client(request, svc, caller.project_id))
    cancel = threading.Event()
    context = context.with_cancel(cancel)
    job = partial(grade, grader, sample_from_text(body.model_sample), body.item or {}, context=context)
    future = asyncio.get_running_loop().run_in_executor(pool, job)
    while not future.done():
        await asyncio.wait({future}, timeout=DISCONNECT_POLL_SECONDS)
        if not future.done() and await request.is_disconnected():
            cancel.set()  # the grading stops; nobody reads its result
    return (await future).to_wire()


def _grading(request: Request) -> tuple[GradeContext, ThreadPoolExecutor]:
    """The process's grading context (its sandbox probes bubblewrap once) and pool, made on first use."""
    state = request.app.state
    with _context_lock:
        if getattr(state, "grade_context", None) is None:
            state.grade_context = GradeContext.from_settings(state.settings)
            state.grade_pool = ThreadPoolExecutor(GRADING_THREADS, thread_name_prefix="openft-grader")
        return state.grade_context, state.grade_pool


def _engine_client(request: Request, svc, project_id: str) -> ModelClient:
    def shown(name: str) -> str:
        resolved = svc.catalog.resolve(name)
        return resolved.shown if resolved is not None else name

    return EngineModelClient(
        lambda name: svc.locate_model(project_id, name), lambda: chat._engine(request), shown
    )

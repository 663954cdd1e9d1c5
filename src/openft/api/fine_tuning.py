"""/v1/fine_tuning/jobs: create, list, retrieve, cancel, pause, resume, events, checkpoints."""

from __future__ import annotations

import importlib.util

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from openft import ids
from openft.api.deps import Caller, Svc
from openft.api.objects import checkpoint_object, event_object, job_object, list_response
from openft.catalog import ModelUnavailable
from openft.errors import InvalidRequest, job_not_found
from openft.schemas.jobs import CreateJobRequest, FineTuningJob
from openft.store import checkpoints as checkpoint_store
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.tables import JobRow
from openft.store.transitions import TransitionRefused

router = APIRouter(prefix="/fine_tuning", tags=["fine_tuning"])


def _check_file(session, caller, file_id: str | None, param: str) -> None:
    if file_id is None:
        return
    purpose = file_store.live_file_purpose(session, project_id=caller.project_id, file_id=file_id)
    if purpose is None:
        raise InvalidRequest(
            f"invalid {param}: {file_id} does not exist or is not accessible to this project.",
            param=param,
            code="file_not_found",
        )
    if purpose != "fine-tune":
        raise InvalidRequest(
            f"invalid {param}: {file_id} has purpose '{purpose}'; "
            "fine-tuning files must be uploaded with purpose 'fine-tune'.",
            param=param,
            code="invalid_file_purpose",
        )


def _check_wandb(settings, project_id: str) -> None:
    """A wandb integration needs the wandb package and a W&B key for the project (OpenAI too
    refuses it until the organization has registered a key)."""
    if settings.wandb_key(project_id) is None:
        raise InvalidRequest(
            "The wandb integration needs a Weights & Biases API key on this server: set "
            "OPENFT_WANDB_API_KEY (or OPENFT_WANDB_PROJECT_API_KEYS for this project) and restart it.",
            param="integrations",
            code="invalid_value",
        )
    if importlib.util.find_spec("wandb") is None:
        raise InvalidRequest(
            "The wandb integration needs the wandb package on this server (pip install 'openft[wandb]').",
            param="integrations",
            code="invalid_value",
        )


def _resolve_model(session, svc, caller, name: str) -> tuple[str, str, str | None]:
    """(shown model, base model to train from, the project owning it when it is an ft: model: the
    caller's, or one sharing it now; the job keeps it, so its trainer still finds the model after
    the permission is deleted)."""
    resolved = svc.catalog.resolve(name)
    if resolved is not None:
        return resolved.shown, resolved.base, None
    try:
        target = svc.catalog.locate(session, project_id=caller.project_id, name=name)
    except ModelUnavailable:
        raise InvalidRequest(
            f"Model {name} is not available for fine-tuning or does not exist.",
            param="model",
            code="model_not_available",
        ) from None
    return name, name, target.project_id


def _validating_message(body: CreateJobRequest) -> str:
    if body.validation_file:
        return f"Validating training file: {body.training_file} and validation file: {body.validation_file}"
    return f"Validating training file: {body.training_file}"


@router.post("/jobs", response_model=FineTuningJob)
async def create_job(body: CreateJobRequest, svc: Svc, caller: Caller):
    # Async, with the checks and the insert in the thread pool: one thread hop per create. (A sync
    # route takes two: FastAPI validates its return value against the response model in another.)
    job = await run_in_threadpool(_create_job, body, svc, caller)
    svc.wake_validator()
    return job


def _create_job(body: CreateJobRequest, svc, caller) -> FineTuningJob:
    if body.hyperparameters is not None and body.method is not None and body.method.type != "supervised":
        raise InvalidRequest(
            "The deprecated 'hyperparameters' only apply to supervised jobs; "
            f"use method.{body.method.type}.hyperparameters.",
            param="hyperparameters",
            code="invalid_value",
        )
    method = body.method_spec()
    job_id = ids.job_id()
    if body.integrations:
        _check_wandb(svc.settings, caller.project_id)
    integrations = [
        {
            "type": "wandb",
            "wandb": {
                **item.wandb.model_dump(exclude_none=True),
                "entity": item.wandb.entity,
                "run_id": job_id,
            },
        }
        for item in body.integrations or []
    ]
    with svc.db.write() as session:
        shown, base, base_project_id = _resolve_model(session, svc, caller, body.model)
        _check_file(session, caller, body.training_file, "training_file")
        _check_file(session, caller, body.validation_file, "validation_file")
        job = job_store.add_job(
            session,
            id=job_id,
            project_id=caller.project_id,
            organization_id=caller.organization_id,
            organization_name=caller.organization_name,
            created_at=ids.now(),
            model=shown,
            base_model=base,
            base_project_id=base_project_id,
            status="validating_files",
            training_file=body.training_file,
            validation_file=body.validation_file,
            suffix=body.suffix,
            seed=body.seed if body.seed is not None else ids.new_seed(),
            method=method,
            integrations=integrations,
            metadata_=body.metadata,
            result_files=[],
        )
        created = [f"Created fine-tuning job: {job_id}", _validating_message(body)]
        event_store.add_messages(session, [(job, message) for message in created])
    return job_object(job)


def metadata_filter(request: Request) -> tuple[dict[str, str], bool]:
    params = request.query_params
    filters = {
        key[len("metadata[") : -1]: value
        for key, value in params.multi_items()
        if key.startswith("metadata[") and key.endswith("]")
    }
    return filters, params.get("metadata") == "null"


@router.get("/jobs")
def list_jobs(
    request: Request,
    svc: Svc,
    caller: Caller,
    after: str | None = None,
    limit: int = Query(20, ge=0, le=1000),
):
    filters, metadata_null = metadata_filter(request)
    if filters and metadata_null:
        raise InvalidRequest(
            "Use either metadata=null or metadata[key]=value filters, not both.", param="metadata"
        )
    with svc.db.read() as session:
        page = job_store.list_jobs(
            session,
            project_id=caller.project_id,
            after=after,
            limit=limit,
            metadata=filters,
            metadata_null=metadata_null,
        )
        return list_response([job_object(row) for row in page.items], page.has_more, with_ids=False)


def _job(session, caller, job_id: str) -> JobRow:
    row = job_store.get_job(session, project_id=caller.project_id, job_id=job_id)
    if row is None:
        raise job_not_found(job_id)
    return row


@router.get("/jobs/{job_id}", response_model=FineTuningJob)
def retrieve_job(job_id: str, svc: Svc, caller: Caller):
    with svc.db.read() as session:
        return job_object(_job(session, caller, job_id))


def _act(svc, caller, job_id: str, action: str) -> FineTuningJob:
    with svc.db.write() as session:
        job = _job(session, caller, job_id)
        try:
            lifecycle.user_action(session, job=job, action=action)
        except TransitionRefused as refused:
            raise InvalidRequest(
                f"Cannot {action} job {job_id}: its status is '{refused.status}'.",
                param="fine_tuning_job_id",
                code="invalid_job_status",
            ) from None
        return job_object(job)


@router.post("/jobs/{job_id}/cancel", response_model=FineTuningJob)
def cancel_job(job_id: str, svc: Svc, caller: Caller):
    return _act(svc, caller, job_id, "cancel")


@router.post("/jobs/{job_id}/pause", response_model=FineTuningJob)
def pause_job(job_id: str, svc: Svc, caller: Caller):
    return _act(svc, caller, job_id, "pause")


@router.post("/jobs/{job_id}/resume", response_model=FineTuningJob)
def resume_job(job_id: str, svc: Svc, caller: Caller):
    return _act(svc, caller, job_id, "resume")


@router.get("/jobs/{job_id}/events")
def list_events(
    job_id: str, svc: Svc, caller: Caller, after: str | None = None, limit: int = Query(20, ge=0, le=1000)
):
    with svc.db.read() as session:
        job = _job(session, caller, job_id)
        page = event_store.list_events(session, job=job, after=after, limit=limit)
        return list_response([event_object(row) for row in page.items], page.has_more, with_ids=False)


@router.get("/jobs/{job_id}/checkpoints")
def list_checkpoints(
    job_id: str, svc: Svc, caller: Caller, after: str | None = None, limit: int = Query(10, ge=0, le=1000)
):
    with svc.db.read() as session:
        job = _job(session, caller, job_id)
        page = checkpoint_store.list_checkpoints(session, job=job, after=after, limit=limit)
        return list_response(
            [checkpoint_object(row, job.id) for row in page.items], page.has_more, with_ids=True
        )

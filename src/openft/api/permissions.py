"""/v1/fine_tuning/checkpoints/{fine_tuned_model_checkpoint}/permissions: share a fine-tuned model or
checkpoint with other projects of the organization (create, list, delete).

Only the project owning the model manages its permissions; to any other it does not exist (404).
A project it is shared with lists, retrieves, chats with and fine-tunes from it (``catalog.locate``);
deleting the permission takes that away, but not from jobs created meanwhile: a job records the
project owning its parent when it is created (``JobRow.base_project_id``) and trains from there.
"""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from openft import ids
from openft.api.auth import Principal, organization_projects
from openft.api.deps import Caller, Services, Svc
from openft.api.objects import list_response, permission_object
from openft.errors import InvalidRequest, NotFound
from openft.schemas.permissions import CheckpointPermissionDeleted, CreatePermissionRequest, PermissionOrder
from openft.store import models as model_store
from openft.store import permissions as permission_store
from openft.store.tables import ModelRow

router = APIRouter(prefix="/fine_tuning/checkpoints", tags=["fine_tuning"])
PERMISSIONS = "/{fine_tuned_model_checkpoint}/permissions"
CHECKPOINT = "fine_tuned_model_checkpoint"


def _owned(session: Session, caller: Principal, name: str) -> ModelRow:
    """The caller's own model ``name``; a 404 for any other (shared with it or not)."""
    row = model_store.get_model(session, project_id=caller.project_id, model_id=name)
    if row is None:
        raise NotFound(f"The model '{name}' does not exist", param=CHECKPOINT, code="model_not_found")
    return row


def _check_projects(svc: Services, caller: Principal, project_ids: list[str]) -> None:
    """Each project is another project of the caller's organization."""
    known = organization_projects(svc.settings, caller.organization_id)
    for index, project_id in enumerate(project_ids):
        param = f"project_ids[{index}]"
        if project_id == caller.project_id:
            raise InvalidRequest(
                f"Invalid '{param}': {project_id} owns the checkpoint; share it with other projects.",
                param=param,
                code="invalid_value",
            )
        if project_id not in known:
            raise InvalidRequest(
                f"Invalid '{param}': there is no project {project_id} in this organization.",
                param=param,
                code="project_not_found",
            )


@router.post(PERMISSIONS)
def create_permissions(
    fine_tuned_model_checkpoint: str, body: CreatePermissionRequest, svc: Svc, caller: Caller
):
    with svc.db.write() as session:
        model = _owned(session, caller, fine_tuned_model_checkpoint)
        _check_projects(svc, caller, body.project_ids)
        rows = permission_store.add_permissions(
            session, model=model, project_ids=body.project_ids, now=ids.now()
        )
        created = [permission_object(row) for row in rows]
    return list_response(created, False, with_ids=True)


@router.get(PERMISSIONS)
def list_permissions(
    fine_tuned_model_checkpoint: str,
    svc: Svc,
    caller: Caller,
    project_id: str | None = None,
    after: str | None = None,
    limit: int = Query(10, ge=0, le=1000),
    order: PermissionOrder = "descending",
):
    with svc.db.read() as session:
        model = _owned(session, caller, fine_tuned_model_checkpoint)
        page = permission_store.list_permissions(
            session,
            model=model,
            project_id=project_id,
            after=after,
            limit=limit,
            ascending=order == "ascending",
        )
        return list_response([permission_object(row) for row in page.items], page.has_more, with_ids=True)


@router.delete(PERMISSIONS + "/{permission_id}", response_model=CheckpointPermissionDeleted)
def delete_permission(fine_tuned_model_checkpoint: str, permission_id: str, svc: Svc, caller: Caller):
    with svc.db.write() as session:
        model = _owned(session, caller, fine_tuned_model_checkpoint)
        row = permission_store.get_permission(session, model=model, permission_id=permission_id)
        if row is None:
            raise NotFound(
                f"No such checkpoint permission: {permission_id}",
                param="permission_id",
                code="permission_not_found",
            )
        permission_store.delete_permission(session, row=row)
    return CheckpointPermissionDeleted(id=permission_id, deleted=True)

"""/v1/models: configured base models and aliases, plus the project's fine-tuned models and checkpoints
and those other projects share with it (listed and retrievable; deletable by their owner only)."""

from __future__ import annotations

from fastapi import APIRouter

from openft import ids
from openft.api.deps import Caller, Svc
from openft.api.objects import model_object
from openft.errors import PermissionDenied, model_not_found
from openft.schemas.models import Model, ModelDeleted
from openft.store import models as model_store
from openft.store import permissions as permission_store

router = APIRouter(tags=["models"])


@router.get("/models")
def list_models(svc: Svc, caller: Caller):
    base = [Model(id=e.id, created=e.created, owned_by=e.owned_by) for e in svc.catalog.entries()]
    with svc.db.read() as session:
        rows = model_store.list_models(session, project_id=caller.project_id)
        rows += permission_store.shared_models(session, project_id=caller.project_id)
        tuned = [model_object(row) for row in rows]
    return {"object": "list", "data": [m.model_dump(mode="json") for m in base + tuned]}


@router.get("/models/{model:path}", response_model=Model)
def retrieve_model(model: str, svc: Svc, caller: Caller):
    entry = svc.catalog.entry(model)
    if entry is not None:
        return Model(id=entry.id, created=entry.created, owned_by=entry.owned_by)
    with svc.db.read() as session:
        row = permission_store.visible_model(session, project_id=caller.project_id, model_id=model)
    if row is None:
        raise model_not_found(model)
    return model_object(row)


@router.delete("/models/{model:path}", response_model=ModelDeleted)
def delete_model(model: str, svc: Svc, caller: Caller):
    if svc.catalog.entry(model) is not None:
        raise PermissionDenied(
            f"Model {model} is a base model and cannot be deleted.", param="model", code="model_not_deletable"
        )
    with svc.db.write() as session:
        row = model_store.get_model(session, project_id=caller.project_id, model_id=model)
        if row is None:
            raise model_not_found(model)
        model_store.mark_deleted(session, row=row, now=ids.now())
        keep = model_store.path_in_use(session, path=row.path)
    if not keep:  # the weights go with the model; a job continuing it already fails ("no longer exists")
        svc.storage.remove(row.path)
    return ModelDeleted(id=model, deleted=True)

"""Checkpoint permissions: the other projects a project shares one of its models with (a fine-tuned
model or a checkpoint; OpenAI calls both checkpoints here).

A permission lets its project list, retrieve, chat with and fine-tune from the model; only the
owning project manages them. ``visible_model`` is the one rule of which models a project may use.
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from openft import ids
from openft.store import models as model_store
from openft.store.pages import Page, paginate
from openft.store.tables import ModelRow, PermissionRow


def add_permissions(
    session: Session, *, model: ModelRow, project_ids: list[str], now: int
) -> list[PermissionRow]:
    """One permission per project, in the order given (a repeated id once); a project the model is
    already shared with keeps its permission, which is returned again."""
    query = select(PermissionRow).where(PermissionRow.model_pk == model.pk)
    existing = {row.project_id: row for row in session.scalars(query)}
    granted = []
    for project_id in dict.fromkeys(project_ids):
        row = existing.get(project_id)
        if row is None:
            row = PermissionRow(
                id=ids.permission_id(), model_pk=model.pk, project_id=project_id, created_at=now
            )
            session.add(row)
        granted.append(row)
    session.flush()
    return granted


def list_permissions(
    session: Session,
    *,
    model: ModelRow,
    project_id: str | None,
    after: str | None,
    limit: int,
    ascending: bool,
) -> Page[PermissionRow]:
    query = select(PermissionRow).where(PermissionRow.model_pk == model.pk)
    if project_id is not None:
        query = query.where(PermissionRow.project_id == project_id)
    return paginate(session, query, PermissionRow, after=after, limit=limit, ascending=ascending)


def get_permission(session: Session, *, model: ModelRow, permission_id: str) -> PermissionRow | None:
    query = select(PermissionRow).where(PermissionRow.model_pk == model.pk, PermissionRow.id == permission_id)
    return session.scalar(query)


def delete_permission(session: Session, *, row: PermissionRow) -> None:
    session.delete(row)


def _shared_with(project_id: str) -> Select[ModelRow]:
    """Models of other projects shared with ``project_id`` (not deleted)."""
    return (
        select(ModelRow)
        .join(PermissionRow, PermissionRow.model_pk == ModelRow.pk)
        .where(PermissionRow.project_id == project_id, ModelRow.deleted_at.is_(None))
    )


def shared_models(session: Session, *, project_id: str) -> list[ModelRow]:
    return list(session.scalars(_shared_with(project_id).order_by(ModelRow.pk)))


def visible_model(session: Session, *, project_id: str, model_id: str) -> ModelRow | None:
    """The project's own model ``model_id``, else that model when another project shares it with this one."""
    own = model_store.get_model(session, project_id=project_id, model_id=model_id)
    if own is not None:
        return own
    return session.scalar(_shared_with(project_id).where(ModelRow.id == model_id))

"""Fine-tuned models and checkpoint models a project owns."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openft.store.pages import scoped
from openft.store.tables import ModelRow


def add_model(session: Session, *, row: ModelRow) -> ModelRow:
    session.add(row)
    return row


def get_model(session: Session, *, project_id: str, model_id: str) -> ModelRow | None:
    query = scoped(ModelRow, project_id).where(ModelRow.id == model_id, ModelRow.deleted_at.is_(None))
    return session.scalar(query)


def list_models(session: Session, *, project_id: str) -> list[ModelRow]:
    query = scoped(ModelRow, project_id).where(ModelRow.deleted_at.is_(None)).order_by(ModelRow.pk)
    return list(session.scalars(query))


def mark_deleted(session: Session, *, row: ModelRow, now: int) -> None:
    row.deleted_at = now


def path_in_use(session: Session, *, path: str) -> bool:
    """Whether a model that is not deleted still lives in ``path``."""
    query = select(ModelRow.pk).where(ModelRow.path == path, ModelRow.deleted_at.is_(None)).limit(1)
    return session.scalar(query) is not None

"""Fine-tuned models and checkpoint models a project owns."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openft.store.pages import scoped
from openft.store.tables import JobRow, ModelRow


def add_model(session: Session, *, row: ModelRow) -> ModelRow:
    session.add(row)
    return row


def add_job_model(
    session: Session, *, job: JobRow, name: str, base_model: str, path: str, created_at: int
) -> ModelRow:
    """A model a job made (its final model or a checkpoint), owned by the job's project and org."""
    row = ModelRow(
        id=name,
        project_id=job.project_id,
        owned_by=job.organization_id,
        job_id=job.id,
        created_at=created_at,
        base_model=base_model,
        path=path,
    )
    return add_model(session, row=row)


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

"""Checkpoints: epoch snapshots of a job, each usable as a model."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openft.store.pages import Page, paginate
from openft.store.tables import CheckpointRow, JobRow


def add_checkpoint(session: Session, *, row: CheckpointRow) -> CheckpointRow:
    session.add(row)
    session.flush()
    return row


def list_checkpoints(session: Session, *, job: JobRow, after: str | None, limit: int) -> Page[CheckpointRow]:
    query = select(CheckpointRow).where(CheckpointRow.job_pk == job.pk)
    return paginate(session, query, CheckpointRow, after=after, limit=limit)


def job_checkpoints(session: Session, *, job: JobRow) -> list[CheckpointRow]:
    query = select(CheckpointRow).where(CheckpointRow.job_pk == job.pk).order_by(CheckpointRow.step_number)
    return list(session.scalars(query))


def delete_checkpoint(session: Session, *, row: CheckpointRow) -> None:
    session.delete(row)

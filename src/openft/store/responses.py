"""Stored responses (Responses API): add, get within a project, delete."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openft.store.pages import scoped
from openft.store.tables import ResponseRow


def add_response(session: Session, *, row: ResponseRow) -> ResponseRow:
    session.add(row)
    session.flush()
    return row


def get_response(session: Session, *, project_id: str, response_id: str) -> ResponseRow | None:
    return session.scalar(scoped(ResponseRow, project_id).where(ResponseRow.id == response_id))


def delete_response(session: Session, *, row: ResponseRow) -> None:
    session.delete(row)

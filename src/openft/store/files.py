"""File rows: uploaded datasets and result files."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from openft.store.pages import Page, paginate, scoped
from openft.store.tables import FileRow


def add_file(session: Session, *, row: FileRow) -> FileRow:
    session.add(row)
    session.flush()
    return row


def get_file(session: Session, *, project_id: str, file_id: str) -> FileRow | None:
    return session.scalar(scoped(FileRow, project_id).where(FileRow.id == file_id))


def list_files(
    session: Session, *, project_id: str, purpose: str | None, after: str | None, limit: int, ascending: bool
) -> Page[FileRow]:
    query = scoped(FileRow, project_id)
    if purpose is not None:
        query = query.where(FileRow.purpose == purpose)
    return paginate(session, query, FileRow, after=after, limit=limit, ascending=ascending)


def delete_file(session: Session, *, row: FileRow) -> None:
    session.delete(row)


def expired_files(session: Session, *, now: int) -> list[FileRow]:
    query = select(FileRow).where(FileRow.expires_at.is_not(None), FileRow.expires_at <= now)
    return list(session.scalars(query))

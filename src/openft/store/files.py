"""File rows: uploaded datasets and result files."""

from __future__ import annotations

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from openft import ids
from openft.store.pages import Page, paginate, scoped
from openft.store.tables import FileRow


def _live(project_id: str) -> Select[FileRow]:
    """A project's files that have not expired (the janitor removes expired ones later)."""
    return scoped(FileRow, project_id).where(
        or_(FileRow.expires_at.is_(None), FileRow.expires_at > ids.now())
    )


def add_file(session: Session, *, row: FileRow) -> FileRow:
    session.add(row)
    session.flush()
    return row


def get_file(session: Session, *, project_id: str, file_id: str) -> FileRow | None:
    return session.scalar(_live(project_id).where(FileRow.id == file_id))


def list_files(
    session: Session, *, project_id: str, purpose: str | None, after: str | None, limit: int, ascending: bool
) -> Page[FileRow]:
    query = _live(project_id)
    if purpose is not None:
        query = query.where(FileRow.purpose == purpose)
    return paginate(session, query, FileRow, after=after, limit=limit, ascending=ascending)


def delete_file(session: Session, *, row: FileRow) -> None:
    session.delete(row)


def expired_files(session: Session, *, now: int) -> list[FileRow]:
    query = select(FileRow).where(FileRow.expires_at.is_not(None), FileRow.expires_at <= now)
    return list(session.scalars(query))

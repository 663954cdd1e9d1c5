"""File rows: uploaded datasets and result files."""

from __future__ import annotations

import functools

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from openft import ids
from openft.store.pages import Page, paginate, scoped
from openft.store.tables import FileRow


def _unexpired(now: int | ColumnElement[int]) -> ColumnElement[bool]:
    """Not expired yet at ``now`` (the janitor removes expired files later)."""
    return or_(FileRow.expires_at.is_(None), FileRow.expires_at > now)


def _live(project_id: str) -> Select[FileRow]:
    """A project's files that have not expired."""
    return scoped(FileRow, project_id).where(_unexpired(ids.now()))


@functools.cache
def _live_file() -> Select[FileRow]:
    """One of a project's live files, by id: built once, run with bound values (every create and
    file request looks one up, and building the statement cost as much as running it)."""
    return scoped(FileRow, bindparam("project_id")).where(
        FileRow.id == bindparam("file_id"), _unexpired(bindparam("now"))
    )


def add_file(session: Session, *, row: FileRow) -> FileRow:
    session.add(row)
    session.flush()
    return row


def get_file(session: Session, *, project_id: str, file_id: str) -> FileRow | None:
    return session.scalar(_live_file(), {"project_id": project_id, "file_id": file_id, "now": ids.now()})


def live_file_purpose(session: Session, *, project_id: str, file_id: str) -> str | None:
    """The purpose of one of a project's live files, None when there is no such file: what a job
    create checks of each file it names. One column through the session's connection, where the
    whole FileRow through the ORM cost 1.9x the Python calls."""
    params = {"project_id": project_id, "file_id": file_id, "now": ids.now()}
    return session.connection().execute(_live_file_purpose(), params).scalar()


@functools.cache
def _live_file_purpose() -> Select[str]:
    """``_live_file``'s lookup, its purpose column alone."""
    return _live_file().with_only_columns(FileRow.purpose)


def live_files(session: Session, *, keys: set[tuple[str, str]]) -> dict[tuple[str, str], FileRow]:
    """The live files of several ``(project_id, file_id)`` pairs, in one query, by pair: for trusted
    internal callers (the validation stage), each pair still scoped to its own project."""
    params = {"file_ids": sorted({file_id for _, file_id in keys}), "now": ids.now()}
    found = {(row.project_id, row.id): row for row in session.scalars(_live_files_by_id(), params)}
    return {key: row for key, row in found.items() if key in keys}


@functools.cache
def _live_files_by_id() -> Select[FileRow]:
    """Live files by id in any project: built once, run with bound values (see ``_live_file``)."""
    return select(FileRow).where(
        FileRow.id.in_(bindparam("file_ids", expanding=True)), _unexpired(bindparam("now"))
    )


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

"""Stored chat completions: what ``store: true`` keeps, listed per project by model and metadata."""

from __future__ import annotations

from sqlalchemy.orm import Session

from openft.store.pages import Page, paginate, scoped
from openft.store.tables import StoredCompletionRow


def add_completion(session: Session, *, row: StoredCompletionRow) -> StoredCompletionRow:
    session.add(row)
    session.flush()
    return row


def get_completion(session: Session, *, project_id: str, completion_id: str) -> StoredCompletionRow | None:
    query = scoped(StoredCompletionRow, project_id).where(StoredCompletionRow.id == completion_id)
    return session.scalar(query)


def list_completions(
    session: Session,
    *,
    project_id: str,
    model: str | None,
    metadata: dict[str, str],
    after: str | None,
    limit: int,
    ascending: bool,
) -> Page[StoredCompletionRow]:
    query = scoped(StoredCompletionRow, project_id)
    if model is not None:
        query = query.where(StoredCompletionRow.model == model)
    for key, value in metadata.items():
        query = query.where(StoredCompletionRow.metadata_[key].as_string() == value)
    return paginate(session, query, StoredCompletionRow, after=after, limit=limit, ascending=ascending)


def set_metadata(session: Session, *, row: StoredCompletionRow, metadata: dict[str, str] | None) -> None:
    row.metadata_ = metadata


def delete_completion(session: Session, *, row: StoredCompletionRow) -> None:
    session.delete(row)

"""Job events: the lifecycle and metrics log of a job, newest first."""

from __future__ import annotations

import functools
import re

from sqlalchemy import Insert, insert, select
from sqlalchemy.orm import Session

from openft import ids
from openft.store.pages import Page, paginate
from openft.store.tables import EventRow, JobRow, table_of

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` as every database can store it: lone surrogates (a ``"\\ud800"`` escape in a JSONL
    key, quoted back in an error) and NUL characters (PostgreSQL text refuses them) become U+FFFD."""
    return UNSTORABLE.sub("\ufffd", text)


def add_event(
    session: Session,
    *,
    job: JobRow,
    message: str,
    level: str = "info",
    type: str = "message",
    data: dict | None = None,
) -> EventRow:
    row = EventRow(**_columns(job, message, level=level, type=type, data=data))
    session.add(row)
    return row


def add_messages(session: Session, messages: list[tuple[JobRow, str]]) -> None:
    """Info events, each (its job, its message), in order, in one INSERT now: Core's executemany,
    no objects built (a unit of work costs twice the Python calls). It inserts ahead of any row
    of ``add_event`` the session has yet to flush: one transaction adds a job's events one way or
    the other, never both. A create writes its two events this way, a validation pass its
    accepted jobs' one each."""
    session.execute(_insert(), [_columns(job, message) for job, message in messages])


@functools.cache
def _insert() -> Insert:
    """The events INSERT: built once, run with bound values."""
    return insert(table_of(EventRow))


def _columns(
    job: JobRow, message: str, *, level: str = "info", type: str = "message", data: dict | None = None
) -> dict:
    return {
        "id": ids.event_id(),
        "job_pk": job.pk,
        "created_at": ids.now(),
        "level": level,
        "type": type,
        "message": storable(message),
        "data": data,
    }


def metrics_data(session: Session, *, job: JobRow) -> list[dict]:
    """The data of every metrics event of a job, oldest first."""
    query = (
        select(EventRow.data)
        .where(EventRow.job_pk == job.pk, EventRow.type == "metrics")
        .order_by(EventRow.pk)
    )
    return [data for data in session.scalars(query) if data]


def has_message(session: Session, *, job: JobRow, message: str) -> bool:
    """Whether the job has an event with this message already (a warning written once)."""
    query = select(EventRow.pk).where(EventRow.job_pk == job.pk, EventRow.message == storable(message))
    return session.scalar(query.limit(1)) is not None


def list_events(session: Session, *, job: JobRow, after: str | None, limit: int) -> Page[EventRow]:
    query = select(EventRow).where(EventRow.job_pk == job.pk)
    return paginate(session, query, EventRow, after=after, limit=limit)

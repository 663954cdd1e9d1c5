"""Fine-tuning job rows and their state changes.

Every status change goes through :func:`transition`, a conditional UPDATE guarded by the status the
transition table allows it from, so two processes can never both move the same job; the moves
themselves (with what each sets and its event) are in ``lifecycle.py``.

A claim is fenced by the job's ``attempts``: each start increments it, the training process of
that start writes only through :func:`claimed_job` (which refuses once the job was started again
or ended), and the worker settles a start only while ``attempts`` is still that start's.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Insert,
    Select,
    Update,
    bindparam,
    case,
    insert,
    inspect,
    literal,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.types import TypeEngine

from openft.store import transitions
from openft.store.pages import Page, paginate, scoped
from openft.store.tables import JobRow, table_of
from openft.store.transitions import RUNNING, TERMINAL


def add_job(session: Session, **columns: Any) -> JobRow:
    """A new job of ``columns`` (attribute names), in one Core INSERT returning its key, given back
    as a detached JobRow of what was inserted, column defaults included (as if loaded:
    ``session.add`` attaches it). Through the unit of work (a new object tracked, flushed, its
    defaults fetched) a create's store work took twice the Python calls; SQLAlchemy's ORM bulk
    INSERT saves none of them, and RETURNING every column costs the decoding of each."""
    names, statement = _job_insert()
    values = {names[key]: value for key, value in columns.items()}
    result = cast(CursorResult, session.execute(statement, values))
    pk = result.scalar_one()
    inserted = cast(dict[str, Any], result.last_inserted_params())  # one row's: a mapping
    job = JobRow(**{key: inserted.get(name) for key, name in names.items() if key != "pk"}, pk=pk)
    make_transient_to_detached(job)
    return job


@functools.cache
def _job_insert() -> tuple[dict[str, str], Insert]:
    """Each JobRow attribute's column name (``metadata_`` is ``metadata``) and the INSERT returning
    the new key: built once, run with bound values (see ``_project_job``)."""
    table = table_of(JobRow)
    names = {attr.key: attr.columns[0].name for attr in inspect(JobRow).column_attrs}
    return names, insert(table).returning(table.c.pk)


def get_job(session: Session, *, project_id: str, job_id: str) -> JobRow | None:
    return session.scalar(_project_job(), {"project_id": project_id, "job_id": job_id})


@functools.cache
def _project_job() -> Select[JobRow]:
    """A project's job by id: built once, run with bound values (see ``_transition_statement``)."""
    return scoped(JobRow, bindparam("project_id")).where(JobRow.id == bindparam("job_id"))


class JobNotFound(LookupError):
    """A job that an internal caller holds the id of is not in the database."""

    def __init__(self, job_id: str):
        super().__init__(f"job {job_id} is not in the database")
        self.job_id = job_id


def get_job_any_project(session: Session, *, job_id: str) -> JobRow | None:
    """For trusted internal callers (validator, worker, trainer): no tenancy filter."""
    return session.scalar(select(JobRow).where(JobRow.id == job_id))


def require_job(session: Session, *, job_id: str) -> JobRow:
    """The job an internal caller (validator, queue, worker, trainer) holds the id of; jobs are never
    deleted, so its absence means a wrong id or a wrong database: raises JobNotFound."""
    job = get_job_any_project(session, job_id=job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


class ClaimLost(Exception):
    """The training process of one start may no longer write for its job: the job was started again
    (another training process owns it now) or it ended (cancelled, failed, succeeded)."""

    def __init__(self, job_id: str, attempt: int, job: JobRow):
        why = f"started again (attempt {job.attempts})" if job.attempts != attempt else job.status
        super().__init__(f"job {job_id} is no longer attempt {attempt}'s to write for: {why}")
        self.status = job.status


def claimed_job(session: Session, *, job_id: str, attempt: int) -> JobRow:
    """The job, locked for this transaction, while it is still ``attempt``'s: not started again since
    and not ended. Every write of a training process goes through here; raises ClaimLost."""
    job = session.scalar(select(JobRow).where(JobRow.id == job_id).with_for_update())
    if job is None:
        raise JobNotFound(job_id)
    if job.attempts != attempt or job.status in TERMINAL:
        raise ClaimLost(job_id, attempt, job)
    return job


def list_jobs(
    session: Session,
    *,
    project_id: str,
    after: str | None,
    limit: int,
    metadata: dict[str, str] | None,
    metadata_null: bool,
) -> Page[JobRow]:
    query = scoped(JobRow, project_id)
    if metadata_null:
        query = query.where(JobRow.metadata_.is_(None))
    for key, value in (metadata or {}).items():
        query = query.where(JobRow.metadata_[key].as_string() == value)
    return paginate(session, query, JobRow, after=after, limit=limit)


def jobs_in_status(session: Session, *, status: str, limit: int = 50) -> list[JobRow]:
    return list(session.scalars(_jobs_in_status(), {"status": status, "limit": limit}))


@functools.cache
def _jobs_in_status() -> Select[JobRow]:
    """The oldest jobs in a status: built once, run with bound values (the validation stage's every pass)."""
    return (
        select(JobRow)
        .where(JobRow.status == bindparam("status"))
        .order_by(JobRow.pk)
        .limit(bindparam("limit"))
    )


def job_ids_in_status(session: Session, *, status: str, limit: int = 50) -> list[str]:
    """The ids of the oldest jobs in ``status`` (the queue's candidates, oldest first)."""
    query = select(JobRow.id).where(JobRow.status == status).order_by(JobRow.pk).limit(limit)
    return list(session.scalars(query))


def touch_heartbeats(session: Session, *, job_ids: list[str], worker_id: str, now: int) -> None:
    """A worker's sign of life for the running jobs it holds."""
    session.execute(
        update(JobRow)
        .where(JobRow.id.in_(job_ids), JobRow.worker_id == worker_id, JobRow.status == RUNNING)
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


def stalled_job_ids(session: Session, *, cutoff: int) -> list[str]:
    """Running jobs whose worker has not heart-beaten since ``cutoff``."""
    query = select(JobRow.id).where(JobRow.status == RUNNING, JobRow.heartbeat_at < cutoff)
    return list(session.scalars(query))


def transition(
    session: Session, *, job: JobRow, action: str, attempt: int | None = None, **fields: object
) -> JobRow:
    """Move ``job`` by ``action`` and set ``fields`` atomically; raises TransitionRefused when the
    job is (or meanwhile became) in a status the action is not allowed from, or, with ``attempt``,
    was started again since that attempt."""
    target = transitions.next_status(action, job.status)
    statement = _transition_statement(action, tuple(sorted(fields)), fenced=attempt is not None)
    params = {"job_pk": job.pk, "target": target, "attempt": attempt}
    params.update({f"set_{name}": value for name, value in fields.items()})
    moved = session.scalars(statement, params).all()
    if not moved:
        session.refresh(job)  # the status it is in now, for the refusal
        raise transitions.TransitionRefused(action, job.status)
    return job


def transition_each(
    session: Session, *, action: str, moves: list[tuple[JobRow, dict[str, Any]]]
) -> list[JobRow]:
    """:func:`transition` for several jobs in one conditional UPDATE: each job moves by ``action``
    with its own values of the same fields (a CASE on the job's key per field). Returns the jobs
    refused, each refreshed to the status it is in now. The moved ones take the values they were
    given and the status RETURNING gives, as loaded (no history): RETURNING whole rows to refresh
    them cost a pass a third more Python calls, to decode what was just sent."""
    if not moves:
        return []
    if len(moves) == 1:  # the one move's statement is built once (transition's)
        ((job, fields),) = moves
        try:
            transition(session, job=job, action=action, **fields)
        except transitions.TransitionRefused:
            return [job]
        return []
    names = sorted(moves[0][1])
    if any(sorted(fields) != names for _, fields in moves):
        raise ValueError("every move of transition_each sets the same fields")
    values = {
        name: case(
            {job.pk: literal(fields[name], _column_type(name)) for job, fields in moves}, value=JobRow.pk
        )
        for name in names
    }
    query = (
        update(JobRow)
        .where(JobRow.pk.in_([job.pk for job, _ in moves]), _allowed_from(action))
        .values(status=case(transitions.TRANSITIONS[action], value=JobRow.status), **values)
        .returning(JobRow.pk, JobRow.status)
        .execution_options(synchronize_session=False)
    )
    moved: dict[int, str] = dict(session.execute(query).all())
    refused = []
    for job, fields in moves:
        if job.pk not in moved:
            session.refresh(job)
            refused.append(job)
            continue
        for name, value in {**fields, "status": moved[job.pk]}.items():  # what the row now holds
            set_committed_value(job, name, value)
    return refused


@functools.cache
def _transition_statement(action: str, names: tuple[str, ...], *, fenced: bool) -> Update:
    """The conditional UPDATE of a transition that sets ``names``, built once per shape and run with
    bound values (building the statement cost as much as running it). RETURNING the row refreshes
    the job in the same round trip (populate_existing): one statement a transition, where an UPDATE
    and then a SELECT of the row took two."""
    values = {name: bindparam(f"set_{name}", type_=_column_type(name)) for name in names}
    query = update(JobRow).where(JobRow.pk == bindparam("job_pk"), _allowed_from(action))
    if fenced:
        query = query.where(JobRow.attempts == bindparam("attempt"))
    return (
        query.values(status=bindparam("target"), **values)
        .returning(JobRow)
        .execution_options(populate_existing=True, synchronize_session=False)
    )


def _allowed_from(action: str) -> ColumnElement[bool]:
    """The job is in a status ``action`` may move it from (the guard of every transition)."""
    return JobRow.status.in_(sorted(transitions.sources(action)))


def _column_type(name: str) -> TypeEngine:
    """The type of the column behind ``JobRow`` attribute ``name``, for its bound values."""
    return JobRow.__mapper__.attrs[name].columns[0].type

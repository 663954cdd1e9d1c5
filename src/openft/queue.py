"""The job queue over the store: claim a queued job atomically, heartbeat it, sweep lost ones.

Claiming is the ``start`` transition (a conditional UPDATE ... WHERE status = 'queued'), so two
workers on one database can never both run the same job.
"""

from __future__ import annotations

from sqlalchemy import select

from openft import ids
from openft.store import events as event_store
from openft.store import jobs as job_store
from openft.store.db import Database
from openft.store.tables import JobRow
from openft.store.transitions import QUEUED, RUNNING, TransitionRefused

MAX_ATTEMPTS = 3


def claim(db: Database, *, worker_id: str) -> JobRow | None:
    """Move the oldest queued job to running for ``worker_id``; None when there is none to take."""
    with db.read() as session:
        candidates = [row.id for row in job_store.jobs_in_status(session, status=QUEUED, limit=20)]
    for job_id in candidates:
        with db.write() as session:
            job = job_store.get_job_any_project(session, job_id=job_id)
            now = ids.now()
            try:
                job_store.transition(
                    session,
                    job=job,
                    action="start",
                    worker_id=worker_id,
                    heartbeat_at=now,
                    started_at=job.started_at or now,
                    attempts=job.attempts + 1,
                    error=None,
                )
            except TransitionRefused:
                continue  # another worker took it, or it was cancelled meanwhile
            event_store.add_event(session, job=job, message="Fine-tuning job started")
            return job
    return None


def heartbeat(db: Database, *, job_ids: list[str], worker_id: str) -> None:
    if not job_ids:
        return
    with db.write() as session:
        query = select(JobRow).where(
            JobRow.id.in_(job_ids), JobRow.worker_id == worker_id, JobRow.status == RUNNING
        )
        for job in session.scalars(query):
            job.heartbeat_at = ids.now()


def sweep_stalled(db: Database, *, stale_after: int) -> list[str]:
    """Running jobs whose worker stopped heart-beating go back to the queue (or fail after
    MAX_ATTEMPTS starts). Returns the ids it moved."""
    cutoff = ids.now() - stale_after
    with db.read() as session:
        query = select(JobRow.id).where(JobRow.status == RUNNING, JobRow.heartbeat_at < cutoff)
        stalled = list(session.scalars(query))
    moved = []
    for job_id in stalled:
        with db.write() as session:
            job = job_store.get_job_any_project(session, job_id=job_id)
            if job.status != RUNNING or (job.heartbeat_at or 0) >= cutoff:
                continue
            lost = f"The worker running this job ({job.worker_id}) stopped responding"
            try:
                if job.attempts >= MAX_ATTEMPTS:
                    message = f"{lost}; giving up after {job.attempts} attempts."
                    error = {"code": "worker_lost", "message": message, "param": None}
                    job_store.transition(
                        session,
                        job=job,
                        action="fail",
                        error=error,
                        finished_at=ids.now(),
                        estimated_finish=None,
                    )
                    event_store.add_event(session, job=job, level="error", message=message)
                else:
                    job_store.transition(
                        session, job=job, action="requeue", worker_id=None, estimated_finish=None
                    )
                    event_store.add_event(
                        session, job=job, level="warn", message=f"{lost}; the job was put back in the queue."
                    )
            except TransitionRefused:
                continue
            moved.append(job_id)
    return moved

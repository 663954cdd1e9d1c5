"""The job queue: claim a queued job atomically, heartbeat it, sweep lost ones, recover crashed ones.

Claiming is the ``start`` move (a conditional UPDATE ... WHERE status = 'queued'), so two
workers on one database can never both run the same job; each start increments the job's
``attempts``, the token its training process writes under, so the trainer of an earlier start can
write nothing once the job was started again. A start that was lost (its worker stopped
heart-beating, its training process died) puts the job back in the queue to resume from its
latest saved state, up to MAX_ATTEMPTS lost starts; then the job fails. The SQL is in
``store.jobs``; the moves (and their events) in ``store.lifecycle``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from openft import ids
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.tables import JobRow
from openft.store.transitions import QUEUED, RUNNING, TransitionRefused

MAX_ATTEMPTS = 3


def claim(db: Database, *, worker_id: str) -> JobRow | None:
    """Move the oldest queued job to running for ``worker_id``; None when there is none to take."""
    with db.read() as session:
        candidates = job_store.job_ids_in_status(session, status=QUEUED, limit=20)
    for job_id in candidates:
        with db.write() as session:
            job = job_store.require_job(session, job_id=job_id)
            try:
                return lifecycle.start(session, job=job, worker_id=worker_id)
            except TransitionRefused:
                continue  # another worker took it, or it was cancelled meanwhile
    return None


def heartbeat(db: Database, *, job_ids: list[str], worker_id: str) -> None:
    if job_ids:
        with db.write() as session:
            job_store.touch_heartbeats(session, job_ids=job_ids, worker_id=worker_id, now=ids.now())


def recover(session: Session, *, job: JobRow, lost: str, code: str, attempt: int | None = None) -> JobRow:
    """A running job whose start was lost (``lost`` says how) goes back to the queue to resume from
    its latest saved state, or fails with ``code`` once MAX_ATTEMPTS starts were lost."""
    if job.crashes + 1 >= MAX_ATTEMPTS:
        message = f"{lost}; giving up after {job.attempts} attempts."
        return lifecycle.fail(session, job=job, code=code, message=message, attempt=attempt)
    reason = f"{lost}; it will continue from its latest saved state"
    return lifecycle.requeue(session, job=job, reason=reason, attempt=attempt, crashed=True)


def sweep_stalled(db: Database, *, stale_after: int) -> list[str]:
    """Running jobs whose worker stopped heart-beating go back to the queue (or fail after
    MAX_ATTEMPTS lost starts). Returns the ids it moved."""
    cutoff = ids.now() - stale_after
    with db.read() as session:
        stalled = job_store.stalled_job_ids(session, cutoff=cutoff)
    moved = []
    for job_id in stalled:
        with db.write() as session:
            job = job_store.require_job(session, job_id=job_id)
            if job.status != RUNNING or (job.heartbeat_at or 0) >= cutoff:
                continue
            lost = f"The worker running this job ({job.worker_id}) stopped responding"
            try:
                recover(session, job=job, lost=lost, code="worker_lost")
            except TransitionRefused:
                continue
            moved.append(job_id)
    return moved

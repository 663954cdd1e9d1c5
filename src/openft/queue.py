"""The job queue: claim a queued job atomically, heartbeat it, sweep lost ones.

Claiming is the ``start`` move (a conditional UPDATE ... WHERE status = 'queued'), so two
workers on one database can never both run the same job. The SQL is in ``store.jobs``; the
moves (and their events) in ``store.lifecycle``.
"""

from __future__ import annotations

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


def sweep_stalled(db: Database, *, stale_after: int) -> list[str]:
    """Running jobs whose worker stopped heart-beating go back to the queue (or fail after
    MAX_ATTEMPTS starts). Returns the ids it moved."""
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
                if job.attempts >= MAX_ATTEMPTS:
                    message = f"{lost}; giving up after {job.attempts} attempts."
                    lifecycle.fail(session, job=job, code="worker_lost", message=message)
                else:
                    lifecycle.requeue(session, job=job, reason=lost)
            except TransitionRefused:
                continue
            moved.append(job_id)
    return moved

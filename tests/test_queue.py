"""The queue: atomic claims, heartbeats and the stalled-job sweep (no training involved)."""

from __future__ import annotations

import pytest

from openft import ids, queue
from openft.store import events as event_store
from openft.store import jobs as job_store
from openft.store.db import Database
from openft.store.migrate import upgrade
from support.jobs import stored_job


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'q.db'}")
    upgrade(database)
    yield database
    database.dispose()


def _queued(db) -> str:
    return stored_job(db, project_id="p", organization_id="o", organization_name="o").id


def _status(db, job_id):
    with db.read() as session:
        return job_store.get_job_any_project(session, job_id=job_id)


def test_claims_oldest_first_and_never_twice(db):
    first, second = _queued(db), _queued(db)
    assert queue.claim(db, worker_id="w1").id == first
    assert queue.claim(db, worker_id="w2").id == second
    assert queue.claim(db, worker_id="w3") is None
    job = _status(db, first)
    assert (job.status, job.worker_id, job.attempts) == ("running", "w1", 1)


def test_stalled_jobs_are_requeued_then_failed_after_max_attempts(db):
    job_id = _queued(db)
    for attempt in range(1, queue.MAX_ATTEMPTS + 1):
        assert queue.claim(db, worker_id=f"w{attempt}").id == job_id
        with db.write() as session:
            job_store.get_job_any_project(session, job_id=job_id).heartbeat_at = ids.now() - 3600
        assert queue.sweep_stalled(db, stale_after=60) == [job_id]
        expected = "queued" if attempt < queue.MAX_ATTEMPTS else "failed"
        assert _status(db, job_id).status == expected
    job = _status(db, job_id)
    assert job.error["code"] == "worker_lost" and "stopped responding" in job.error["message"]
    with db.read() as session:
        levels = [e.level for e in event_store.list_events(session, job=job, after=None, limit=50).items]
    assert levels[0] == "error" and levels.count("warn") == queue.MAX_ATTEMPTS - 1


def test_heartbeat_keeps_a_job_alive(db):
    job_id = _queued(db)
    queue.claim(db, worker_id="w")
    with db.write() as session:
        job_store.get_job_any_project(session, job_id=job_id).heartbeat_at = ids.now() - 3600
    queue.heartbeat(db, job_ids=[job_id], worker_id="w")
    assert queue.sweep_stalled(db, stale_after=60) == []
    assert _status(db, job_id).status == "running"


def test_only_lost_starts_count_toward_the_bound(db):
    from openft.store import lifecycle

    job_id = _queued(db)
    for _ in range(queue.MAX_ATTEMPTS + 1):  # pause and resume, or a clean shutdown: not a crash
        queue.claim(db, worker_id="w")
        with db.write() as session:
            job = job_store.require_job(session, job_id=job_id)
            lifecycle.requeue(session, job=job, reason="The worker shut down")
    job = _status(db, job_id)
    assert (job.status, job.crashes, job.attempts) == ("queued", 0, queue.MAX_ATTEMPTS + 1)
    queue.claim(db, worker_id="w")
    with db.write() as session:
        job = job_store.require_job(session, job_id=job_id)
        queue.recover(session, job=job, lost="The training process was killed by signal 9", code="x")
    job = _status(db, job_id)
    assert (job.status, job.crashes) == ("queued", 1)


def test_a_move_for_an_earlier_start_is_refused(db):
    from openft.store import lifecycle
    from openft.store.transitions import TransitionRefused

    job_id = _queued(db)
    first = queue.claim(db, worker_id="w1").attempts
    with db.write() as session:
        lifecycle.requeue(session, job=job_store.require_job(session, job_id=job_id), reason="lost")
    queue.claim(db, worker_id="w2")
    with db.write() as session, pytest.raises(TransitionRefused):
        job = job_store.require_job(session, job_id=job_id)
        queue.recover(session, job=job, lost="late news of the first start", code="x", attempt=first)
    assert (_status(db, job_id).status, _status(db, job_id).worker_id) == ("running", "w2")

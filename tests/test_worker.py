"""The worker's side of recovery, with stand-in training processes (no training): a dead trainer's
job goes back to the queue (or fails once the bound is reached), one that saved its state on
SIGTERM is requeued without counting a crash, one whose claim was lost is killed at once, and a
shutdown asks each trainer to save its state, then requeues its job saying why."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from openft import queue
from openft.config import Settings
from openft.storage import Storage
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.train.lifeline import SUSPENDED
from openft.worker import Child, Worker
from support.jobs import job_row, messages, queued_job

# Saves its "state" on SIGTERM (exits SUSPENDED), else sleeps.
SUSPENDING = (
    "import signal, sys, time; "
    f"signal.signal(signal.SIGTERM, lambda *_: sys.exit({SUSPENDED})); time.sleep(60)"
)


@pytest.fixture
def worker(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    upgrade(db)
    settings = Settings(data_dir=tmp_path, shutdown_grace_seconds=10, stop_grace_seconds=0.2)
    yield Worker(settings, db, Storage(tmp_path), worker_id="w1")
    db.dispose()


def adopt(worker: Worker, code: str) -> str:
    """A claimed job whose 'trainer' runs ``code``."""
    job_id = queued_job(worker.db)
    attempt = queue.claim(worker.db, worker_id=worker.worker_id).attempts
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    worker.children[job_id] = Child(job_id, attempt, process)
    return job_id


def reap(worker: Worker, job_id: str) -> None:
    worker.children[job_id].process.wait(timeout=30)
    worker._reap()


def test_a_killed_trainer_requeues_its_job_to_resume_then_the_bound_fails_it(worker):
    job_id = adopt(worker, "import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    reap(worker, job_id)
    job = job_row(worker.db, job_id)
    assert (job.status, job.crashes, job.error) == ("queued", 1, None)
    assert messages(worker.db, job_id)[-1] == (
        "The training process was killed by signal 9 before the job finished; it will continue from "
        "its latest saved state; the job was put back in the queue."
    )
    with worker.db.write() as session:
        job_store.require_job(session, job_id=job_id).crashes = queue.MAX_ATTEMPTS - 1
    attempt = queue.claim(worker.db, worker_id=worker.worker_id).attempts
    process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    worker.children[job_id] = Child(job_id, attempt, process)
    reap(worker, job_id)
    job = job_row(worker.db, job_id)
    assert job.status == "failed" and job.error["code"] == "training_process_died"
    assert "exited with code 3" in job.error["message"] and "giving up after" in job.error["message"]


def test_a_trainer_that_saved_its_state_on_sigterm_is_requeued_without_a_crash(worker):
    job_id = adopt(worker, f"raise SystemExit({SUSPENDED})")
    reap(worker, job_id)
    job = job_row(worker.db, job_id)
    assert (job.status, job.crashes) == ("queued", 0)
    assert "saved its state" in messages(worker.db, job_id)[-1]


def test_a_trainer_whose_claim_was_lost_is_killed_at_once(worker):
    job_id = adopt(worker, "import time; time.sleep(60)")
    with worker.db.write() as session:
        lifecycle.requeue(session, job=job_store.require_job(session, job_id=job_id), reason="lost")
    assert queue.claim(worker.db, worker_id="w2").id == job_id
    worker._enforce_stops()
    assert worker.children[job_id].process.wait(timeout=10) == -signal.SIGKILL
    worker._reap()
    job = job_row(worker.db, job_id)
    assert (job.status, job.worker_id) == ("running", "w2")  # the other start is left alone


def test_shutdown_asks_trainers_to_save_then_requeues_their_jobs(worker):
    saves = adopt(worker, SUSPENDING)
    stuck = adopt(
        worker, "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    time.sleep(1.0)  # both are up and handling SIGTERM
    worker.settings.shutdown_grace_seconds = 2
    started = time.monotonic()
    worker.shutdown()
    assert time.monotonic() - started < 10 and worker.children == {}
    for job_id, why in ((saves, "saved its state"), (stuck, "was killed by signal 9")):
        job = job_row(worker.db, job_id)
        assert (job.status, job.crashes) == ("queued", 0)
        assert messages(worker.db, job_id)[-1] == (
            f"The worker shut down (its training process {why}); the job was put back in the queue."
        )
    assert queue.claim(worker.db, worker_id="w1") is not None  # the next start takes them


def test_a_hurried_shutdown_does_not_wait(worker):
    job_id = adopt(
        worker, "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    )
    time.sleep(0.5)
    worker.hurry()
    started = time.monotonic()
    worker.shutdown()
    assert time.monotonic() - started < 3 and job_row(worker.db, job_id).status == "queued"

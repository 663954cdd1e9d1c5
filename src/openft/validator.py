"""The validation stage: a job in ``validating_files`` has its files checked against its method,
then moves to ``queued`` or to ``failed`` with ``error = {code, message, param}``.

Runs in the API process (and in any worker); the move is a conditional transition, so when two
validators look at the same job only one of them records the outcome.
"""

from __future__ import annotations

import logging
import threading

from openft import ids
from openft.datasets import JobFileError, validate_dataset
from openft.janitor import remove_expired
from openft.storage import Storage
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store.db import Database
from openft.store.tables import JobRow
from openft.store.transitions import VALIDATING, TransitionRefused

log = logging.getLogger("openft.validator")


def _missing_file(file_id: str, role: str) -> JobFileError:
    return JobFileError(
        code=f"invalid_{role}_file",
        message=f"The job failed due to an invalid {role} file. File {file_id} no longer exists.",
        param=f"{role}_file",
    )


def check_job_files(db: Database, storage: Storage, job: JobRow) -> JobFileError | None:
    """The first problem with the job's files, or None when they suit its method."""
    method = job.method["type"]
    for role, file_id in (("training", job.training_file), ("validation", job.validation_file)):
        if file_id is None:
            continue
        with db.read() as session:
            row = file_store.get_file(session, project_id=job.project_id, file_id=file_id)
        if row is None:
            return _missing_file(file_id, role)
        report = validate_dataset(storage.path(row.path), method=method, file_id=file_id, role=role)
        if report.error is not None:
            return report.error
    return None


def validate_job(db: Database, storage: Storage, job: JobRow) -> None:
    problem = check_job_files(db, storage, job)
    with db.write() as session:
        job = job_store.get_job_any_project(session, job_id=job.id)
        try:
            if problem is None:
                job_store.transition(session, job=job, action="validate")
                event_store.add_event(session, job=job, message="Files validated, moving job to queued state")
            else:
                error = {"code": problem.code, "message": problem.message, "param": problem.param}
                job_store.transition(session, job=job, action="reject", error=error, finished_at=ids.now())
                event_store.add_event(session, job=job, level="error", message=problem.message)
        except TransitionRefused:
            log.info("job %s left validation meanwhile (now %s)", job.id, job.status)


def validate_pending(db: Database, storage: Storage) -> int:
    with db.read() as session:
        pending = job_store.jobs_in_status(session, status=VALIDATING)
    for job in pending:
        try:
            validate_job(db, storage, job)
        except Exception:
            log.exception("validating job %s failed", job.id)
    return len(pending)


class ValidatorThread:
    """Validates pending jobs when woken (after a create) and every ``poll_seconds`` anyway;
    removes expired files on the same beat."""

    def __init__(self, db: Database, storage: Storage, poll_seconds: float):
        self.db, self.storage, self.poll_seconds = db, storage, poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openft-validator", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                validate_pending(self.db, self.storage)
                remove_expired(self.db, self.storage)
            except Exception:
                log.exception("validation pass failed")
            self._wake.wait(self.poll_seconds)

"""The validation stage: a job in ``validating_files`` has its files checked against its method,
then moves to ``queued`` (keeping what validation learned of each file, so the trainer never
validates them again) or to ``failed`` with ``error = {code, message, param}``. A reinforcement
job whose grader has a python grader fails here when this server cannot run python graders
(no working sandbox: ``graders.context.python_sandbox_problem``), before any compute is spent.

Runs in the API process (``openft serve``), a pass at a time: the pending jobs are checked together
and their outcomes stored in one transaction. The move is a conditional transition, so when two
stages look at the same job only one of them records the outcome. Any failure of the check itself
(an unreadable file, a bug) fails the job with a stored message: a job is looked at once, never
retried in a loop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from openft.config import Settings
from openft.datasets import JobFileError, validate_dataset
from openft.graders.context import python_sandbox_problem
from openft.janitor import remove_expired
from openft.storage import Storage
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.tables import FileRow, JobRow
from openft.store.transitions import VALIDATING, TransitionRefused

log = logging.getLogger("openft.validation")
FILE_ROLES = (("training", "training_file"), ("validation", "validation_file"))


@dataclass(frozen=True)
class Outcome:
    validated_files: dict | None = None  # {"training": {file_id, format, n_examples}, ...}
    problem: JobFileError | None = None


Files = dict[tuple[str, str], FileRow]  # the live files of a pass's jobs, by (project_id, file_id)


def check_job(settings: Settings, storage: Storage, job: JobRow, files: Files) -> Outcome:
    """What validation learned of each of the job's files, or the first problem with the job; any
    failure of the check itself (an unreadable file, a bug) is the job's problem, with a message."""
    try:
        problem = _grader_problem(settings, job)
        return Outcome(problem=problem) if problem is not None else check_job_files(storage, job, files)
    except Exception as exc:  # the job fails with a message; the traceback goes to the log only
        log.exception("validating the files of job %s failed", job.id)
        message = f"The job's files could not be validated: {type(exc).__name__}: {exc}"
        return Outcome(problem=JobFileError(code="invalid_training_file", message=message, param=None))


def _grader_problem(settings: Settings, job: JobRow) -> JobFileError | None:
    grader = (
        job.method.get("reinforcement", {}).get("grader") if job.method["type"] == "reinforcement" else None
    )
    if grader is None or not _has_python_grader(grader):
        return None
    problem = python_sandbox_problem(settings)
    if problem is None:
        return None
    return JobFileError(
        code="python_grader_unavailable",
        message=f"This server cannot run the job's python grader: {problem}",
        param="method.reinforcement.grader",
    )


def _has_python_grader(grader: dict) -> bool:
    if grader.get("type") == "python":
        return True
    graders = grader.get("graders") if grader.get("type") == "multi" else None
    children = graders.values() if isinstance(graders, dict) else [graders] if graders else []
    return any(isinstance(child, dict) and _has_python_grader(child) for child in children)


def _job_files(job: JobRow) -> list[tuple[str, str]]:
    """(role, file id) of each file the job names."""
    return [(role, getattr(job, column)) for role, column in FILE_ROLES if getattr(job, column) is not None]


def check_job_files(storage: Storage, job: JobRow, files: Files) -> Outcome:
    """What validation learned of each of the job's files, or the first problem with them."""
    validated = {}
    for role, file_id in _job_files(job):
        row = files.get((job.project_id, file_id))
        if row is None:
            return Outcome(problem=_missing_file(file_id, role))
        report = validate_dataset(
            storage.path(row.path), method=job.method["type"], file_id=file_id, role=role
        )
        if report.error is not None:
            return Outcome(problem=report.error)
        validated[role] = {"file_id": file_id, "format": report.format, "n_examples": report.n_examples}
    return Outcome(validated_files=validated)


def record_outcomes(db: Database, checked: list[tuple[JobRow, Outcome]]) -> None:
    """Each job's outcome as its move out of validation, all in one write transaction: the accepted
    jobs in one UPDATE, each failed one in its own. The jobs are the pass's own rows, attached as
    they are: the moves' conditional UPDATEs return the rows as they are now. Without autoflush:
    each failure's event would be flushed by the next job's UPDATE, an INSERT each; at commit the
    events go in one (nothing here changes a job other than by its move)."""
    with db.write() as session, session.no_autoflush:
        session.add_all([job for job, _ in checked])
        accepted = [
            (job, outcome.validated_files or {}) for job, outcome in checked if outcome.problem is None
        ]
        for job in lifecycle.accept_files(session, accepted=accepted):
            log.info("job %s left validation meanwhile (now %s)", job.id, job.status)
        for job, outcome in checked:
            problem = outcome.problem
            if problem is None:
                continue
            try:
                lifecycle.fail(
                    session, job=job, code=problem.code, message=problem.message, param=problem.param
                )
            except TransitionRefused:
                log.info("job %s left validation meanwhile (now %s)", job.id, job.status)


def validate_pending(settings: Settings, db: Database, storage: Storage) -> int:
    """One pass: the pending jobs and their files are read in two queries, checked, and their
    outcomes stored in one transaction (a burst of creates costs one commit, not one per job). A
    job that leaves validation meanwhile is caught where its outcome is stored (a conditional
    transition). When the pass's transaction fails, each outcome is stored in its own, so that one
    job's outcome the database refuses holds back no other."""
    with db.read() as session:
        pending = job_store.jobs_in_status(session, status=VALIDATING)
        keys = {(job.project_id, file_id) for job in pending for _, file_id in _job_files(job)}
        files = file_store.live_files(session, keys=keys) if keys else {}
    checked = [(job, check_job(settings, storage, job, files)) for job in pending]
    if not checked:
        return 0
    job_ids = [job.id for job in pending]  # for the log: a row a failed transaction rolled back is unreadable
    try:
        record_outcomes(db, checked)
    except Exception:
        log.warning("recording a validation pass of %d jobs failed; recording them one by one", len(checked))
        for job_id, one in zip(job_ids, checked, strict=True):  # each reloads what it is now
            try:
                record_outcomes(db, [one])
            except Exception:  # the outcome could not be stored: the database itself is failing
                log.exception("recording the validation of job %s failed", job_id)
    return len(checked)


def _missing_file(file_id: str, role: str) -> JobFileError:
    return JobFileError(
        code=f"invalid_{role}_file",
        message=f"The job failed due to an invalid {role} file. File {file_id} no longer exists.",
        param=f"{role}_file",
    )


class ValidationThread:
    """Validates pending jobs when woken (after a create) and every ``poll_seconds`` anyway;
    removes expired files on its own beat, every ``poll_seconds``: not on each wake, where under a
    burst of creates it would take the database's write lock once per job for nothing.

    Woken, it first lets ``GATHER_SECONDS`` pass: the jobs created meanwhile join the same pass
    (its two reads and one commit), where a pass per create cost more than the create itself."""

    GATHER_SECONDS = 0.05

    def __init__(self, settings: Settings, db: Database, storage: Storage):
        self.settings, self.db, self.storage = settings, db, storage
        self.poll_seconds = settings.validator_poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="openft-validation", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        next_sweep = time.monotonic()
        while not self._stop.is_set():
            self._wake.clear()
            try:
                validate_pending(self.settings, self.db, self.storage)
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self.poll_seconds
                    remove_expired(self.db, self.storage)
            except Exception:
                log.exception("validation pass failed")
            if self._wake.wait(self.poll_seconds):
                self._stop.wait(self.GATHER_SECONDS)

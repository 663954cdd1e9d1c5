"""The job state machine's moves: each function makes one transition (a conditional UPDATE through
``jobs.transition``), sets what that move always sets, and writes its one event.

Every caller (the API, the validation stage, the queue, the worker, the trainer) changes a job's
status only through these functions, so each move looks the same wherever it happens. Each raises
``TransitionRefused`` when the job is (or meanwhile became) in a status the move is not allowed
from (``accept_files``, which moves several jobs, returns those instead); the caller decides
whether that matters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from openft import ids
from openft.store.events import add_event, add_messages, storable
from openft.store.jobs import transition, transition_each
from openft.store.tables import JobRow

# The moves a user asks for through the API: (action, event message, whether it ends the job).
USER_ACTIONS = {
    "cancel": ("Fine-tuning job cancelled", True),
    "pause": ("Fine-tuning job paused", False),
    "resume": ("Fine-tuning job resumed", False),
}


def accept_files(session: Session, *, accepted: list[tuple[JobRow, dict]]) -> list[JobRow]:
    """validating_files -> queued for each job of ``accepted``, keeping what validation learned of
    its files (``validated_files``) for the trainer, in one UPDATE (the validation stage accepts a
    pass's jobs together). Returns the jobs refused (they left validation meanwhile): no raise."""
    moves: list[tuple[JobRow, dict[str, Any]]] = [
        (job, {"validated_files": files}) for job, files in accepted
    ]
    refused = transition_each(session, action="validate", moves=moves)
    moved = [job for job, _ in accepted if job not in refused]
    if moved:
        add_messages(session, [(job, "Files validated, moving job to queued state") for job in moved])
    return refused


def start(session: Session, *, job: JobRow, worker_id: str) -> JobRow:
    """queued -> running on ``worker_id`` (a worker's claim)."""
    now = ids.now()
    transition(
        session,
        job=job,
        action="start",
        worker_id=worker_id,
        heartbeat_at=now,
        started_at=job.started_at or now,
        attempts=job.attempts + 1,
        error=None,
    )
    add_event(session, job=job, message="Fine-tuning job started")
    return job


def requeue(
    session: Session, *, job: JobRow, reason: str, attempt: int | None = None, crashed: bool = False
) -> JobRow:
    """running -> queued: its worker shut down (its trainer saved its state first), or its worker or
    training process was lost (``crashed``: counted, see ``queue.MAX_ATTEMPTS``). The next start
    continues from the latest state saved. With ``attempt``: only while that start still owns it."""
    crashes = job.crashes + 1 if crashed else job.crashes
    transition(
        session,
        job=job,
        action="requeue",
        attempt=attempt,
        worker_id=None,
        estimated_finish=None,
        crashes=crashes,
    )
    add_event(session, job=job, level="warn", message=f"{reason}; the job was put back in the queue.")
    return job


def fail(
    session: Session,
    *,
    job: JobRow,
    code: str,
    message: str,
    param: str | None = None,
    attempt: int | None = None,
) -> JobRow:
    """Any unfinished status -> failed, with ``error = {code, message, param}`` and an error event.
    With ``attempt``: only while that start still owns the job."""
    message = storable(message)
    error = {"code": code, "message": message, "param": param}
    transition(
        session,
        job=job,
        action="fail",
        attempt=attempt,
        error=error,
        finished_at=ids.now(),
        estimated_finish=None,
    )
    add_event(session, job=job, level="error", message=message)
    return job


def succeed(
    session: Session,
    *,
    job: JobRow,
    fine_tuned_model: str,
    trained_tokens: int,
    result_files: list[str],
    attempt: int | None = None,
) -> JobRow:
    """running -> succeeded with the model it made and its result files (with ``attempt``: only
    while that start still owns the job)."""
    transition(
        session,
        job=job,
        action="succeed",
        attempt=attempt,
        fine_tuned_model=fine_tuned_model,
        trained_tokens=trained_tokens,
        finished_at=ids.now(),
        estimated_finish=None,
        result_files=result_files,
    )
    add_event(session, job=job, message="The job has successfully completed")
    return job


def user_action(session: Session, *, job: JobRow, action: str) -> JobRow:
    """cancel, pause or resume, as the API asks: a paused or cancelled job has no estimate."""
    message, finishes = USER_ACTIONS[action]
    fields: dict = {"estimated_finish": None} if action != "resume" else {}
    if finishes:
        fields["finished_at"] = ids.now()
    transition(session, job=job, action=action, **fields)
    add_event(session, job=job, message=message)
    return job

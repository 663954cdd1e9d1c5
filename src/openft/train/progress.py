"""JobProgress: the Reporter a training process gives the trainer. It writes a running job's
progress to the store (metrics events, estimated finish, checkpoints and their models) and reads
the job's status between steps to honour cancel and pause, and SIGTERM (lifeline.py).

Each training process writes for one start of its job (``attempt``): every write locks the job
row and checks that it was not started again since (``jobs.claimed_job``), so the trainer of a
lost start can write nothing once another owns the job. A resumed run trains again the steps
after its state; what the job already has of them stays as it is: a step's metrics event, a
checkpoint's row and event and a warning are written once, whatever the number of restarts.
A write that meets a database that is briefly unreachable is retried for about half a minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from openft import ids
from openft.storage import Storage
from openft.store import checkpoints as checkpoint_store
from openft.store import events as event_store
from openft.store import jobs as job_store
from openft.store import models as model_store
from openft.store.db import Database, DatabaseUnavailable
from openft.store.tables import CheckpointRow, JobRow
from openft.store.transitions import CANCELLED, FAILED, PAUSED, QUEUED, SUCCEEDED
from openft.train import checkpoints
from openft.train.lifeline import StopRequest
from openft.train.metrics import step_message
from openft.train.naming import ModelNamer
from openft.train.reporter import CANCEL, PAUSE, SUSPEND

# A queued job was put back by a sweep while this trainer lived: it saves its state and stops.
STOP_REQUESTS = {CANCELLED: CANCEL, FAILED: CANCEL, SUCCEEDED: CANCEL, PAUSED: PAUSE, QUEUED: SUSPEND}
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
T = TypeVar("T")
log = logging.getLogger("openft.train")


class JobProgress:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        job_id: str,
        namer: ModelNamer,
        base_model: str,
        *,
        attempt: int,
        method: str = "supervised",
        stop_request: StopRequest | None = None,
    ):
        self.db, self.storage, self.job_id, self.attempt = db, storage, job_id, attempt
        self.namer, self.base_model, self.method = namer, base_model, method
        self.stop_request = stop_request
        self.total_steps = 0
        self._started = time.monotonic()
        self._first_step: int | None = None
        with db.read() as session:
            job = job_store.require_job(session, job_id=job_id)
            self._reported = {data.get("step") for data in event_store.metrics_data(session, job=job)}

    def _write(self, apply: Callable[[Session, JobRow], T]) -> T:
        """``apply(session, job)`` in one transaction on the job while this run still owns it,
        retried while the database is unreachable."""
        for wait in (*RETRY_WAITS, None):
            try:
                with self.db.write() as session:
                    return apply(
                        session, job_store.claimed_job(session, job_id=self.job_id, attempt=self.attempt)
                    )
            except (OperationalError, DatabaseUnavailable) as exc:
                if wait is None:
                    raise
                log.warning(
                    "job %s: the database is unavailable (%s); retrying in %.1fs", self.job_id, exc, wait
                )
                time.sleep(wait)
        raise AssertionError("unreachable")

    def on_start(self, *, total_steps: int, steps_per_epoch: int, n_epochs: int) -> None:
        self.total_steps = total_steps
        self._started = time.monotonic()

    def on_step(self, step: int, metrics: dict) -> None:
        if step in self._reported:
            return  # trained again after a restart: the job has this step's event already
        if self._first_step is None:
            self._first_step = step
        done = step - self._first_step + 1
        remaining = (time.monotonic() - self._started) / max(done, 1) * (self.total_steps - step)

        def record(session: Session, job: JobRow) -> None:
            job.estimated_finish = ids.now() + int(remaining) + 1
            data = {"step": step, "total_steps": self.total_steps, **metrics}
            message = step_message(step, self.total_steps, metrics, self.method)
            event_store.add_event(session, job=job, type="metrics", message=message, data=data)

        self._write(record)
        self._reported.add(step)

    def on_epoch_end(self, step: int, epoch: int, metrics: dict) -> None:
        pass  # the step's metrics event already carries the full_valid_* figures

    def on_checkpoint(self, step: int, path: Path, metrics: dict) -> None:
        if step >= self.total_steps:
            return  # the last epoch's snapshot is the final model, which is not a checkpoint
        relative = str(Path(path).resolve().relative_to(self.storage.root))
        doomed = self._write(lambda session, job: self._register(session, job, step, relative, metrics))
        self._remove(doomed)

    def _register(self, session: Session, job: JobRow, step: int, relative: str, metrics: dict) -> list[str]:
        """The checkpoint's row, model and event, unless the job has that step's checkpoint already;
        then the rows of the checkpoints no longer kept (whose folders to remove once committed)."""
        if not any(row.step_number == step for row in checkpoint_store.job_checkpoints(session, job=job)):
            name, now = self.namer.checkpoint(step), ids.now()
            row = CheckpointRow(
                id=ids.checkpoint_id(),
                job_pk=job.pk,
                created_at=now,
                step_number=step,
                model_name=name,
                metrics={"step": step, **metrics},
                path=relative,
            )
            checkpoint_store.add_checkpoint(session, row=row)
            model_store.add_job_model(
                session, job=job, name=name, base_model=self.base_model, path=relative, created_at=now
            )
            message = f"Checkpoint created at step {step} with Snapshot ID: {name}"
            event_store.add_event(session, job=job, message=message)
        return self._forget_pruned(session, job)

    def _forget_pruned(self, session: Session, job: JobRow) -> list[str]:
        """Drop the rows of the checkpoints the trainer retired (it keeps three: SFT/DPO the latest,
        RFT the best by validation reward) or that are gone; returns the folders to remove."""
        doomed = []
        for row in checkpoint_store.job_checkpoints(session, job=job):
            path = self.storage.path(row.path)
            if path.exists() and not checkpoints.is_retired(path):
                continue
            model = model_store.get_model(session, project_id=job.project_id, model_id=row.model_name)
            if model is not None:
                model_store.mark_deleted(session, row=model, now=ids.now())
            checkpoint_store.delete_checkpoint(session, row=row)
            doomed.append(row.path)
        return doomed

    def forget_pruned(self, root: Path) -> None:
        """Drop the rows of retired checkpoints, then remove every retired folder under ``root``."""
        self._remove(self._write(self._forget_pruned))
        for path in checkpoints.retired_checkpoints(root):
            self.storage.remove(path.resolve().relative_to(self.storage.root))

    def _remove(self, relatives: list[str]) -> None:
        for relative in relatives:  # their rows are gone (committed): nothing points to them
            self.storage.remove(relative)

    def on_warning(self, message: str) -> None:
        def warn(session: Session, job: JobRow) -> None:
            if not event_store.has_message(session, job=job, message=message):
                event_store.add_event(session, job=job, level="warn", message=message)

        self._write(warn)

    def on_note(self, message: str, *, level: str = "info") -> None:
        self._write(
            lambda session, job: event_store.add_event(session, job=job, level=level, message=message)
        )

    def should_stop(self) -> str | None:
        with self.db.read() as session:
            job = job_store.require_job(session, job_id=self.job_id)
        if job.attempts != self.attempt:
            raise job_store.ClaimLost(self.job_id, self.attempt, job)
        request = STOP_REQUESTS.get(job.status)
        if request is None and self.stop_request is not None and self.stop_request.is_set():
            return SUSPEND
        return request

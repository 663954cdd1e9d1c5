"""JobProgress: the Reporter a training process gives the trainer. It writes a running job's
progress to the store (metrics events, estimated finish, checkpoints and their models) and reads
the job's status between steps to honour cancel and pause.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session

from openft import ids
from openft.storage import Storage
from openft.store import checkpoints as checkpoint_store
from openft.store import events as event_store
from openft.store import jobs as job_store
from openft.store import models as model_store
from openft.store.db import Database
from openft.store.tables import CheckpointRow, JobRow
from openft.store.transitions import CANCELLED, FAILED, PAUSED
from openft.train.metrics import step_message
from openft.train.naming import ModelNamer
from openft.train.reporter import CANCEL, PAUSE

STOP_REQUESTS = {CANCELLED: CANCEL, FAILED: CANCEL, PAUSED: PAUSE}


class JobProgress:
    def __init__(
        self,
        db: Database,
        storage: Storage,
        job_id: str,
        namer: ModelNamer,
        base_model: str,
        *,
        method: str = "supervised",
    ):
        self.db, self.storage, self.job_id = db, storage, job_id
        self.namer, self.base_model, self.method = namer, base_model, method
        self.total_steps = 0
        self._started = time.monotonic()

    def on_start(self, *, total_steps: int, steps_per_epoch: int, n_epochs: int) -> None:
        self.total_steps = total_steps
        self._started = time.monotonic()

    def on_step(self, step: int, metrics: dict) -> None:
        elapsed = time.monotonic() - self._started
        remaining = elapsed / max(step, 1) * (self.total_steps - step)
        with self.db.write() as session:
            job = job_store.require_job(session, job_id=self.job_id)
            job.estimated_finish = ids.now() + int(remaining) + 1
            data = {"step": step, "total_steps": self.total_steps, **metrics}
            event_store.add_event(
                session,
                job=job,
                type="metrics",
                message=step_message(step, self.total_steps, metrics, self.method),
                data=data,
            )

    def on_epoch_end(self, step: int, epoch: int, metrics: dict) -> None:
        pass  # the step's metrics event already carries the full_valid_* figures

    def on_checkpoint(self, step: int, path: Path, metrics: dict) -> None:
        if step >= self.total_steps:
            return  # the last epoch's snapshot is the final model, which is not a checkpoint
        name = self.namer.checkpoint(step)
        relative = str(Path(path).resolve().relative_to(self.storage.root))
        with self.db.write() as session:
            job = job_store.require_job(session, job_id=self.job_id)
            checkpoint_store.add_checkpoint(
                session,
                row=CheckpointRow(
                    id=ids.checkpoint_id(),
                    job_pk=job.pk,
                    created_at=ids.now(),
                    step_number=step,
                    model_name=name,
                    metrics={"step": step, **metrics},
                    path=relative,
                ),
            )
            model_store.add_job_model(
                session, job=job, name=name, base_model=self.base_model, path=relative, created_at=ids.now()
            )
            self._forget_pruned(session, job)
            event_store.add_event(
                session, job=job, message=f"Checkpoint created at step {step} with Snapshot ID: {name}"
            )

    def _forget_pruned(self, session: Session, job: JobRow) -> None:
        """The trainer keeps three checkpoints on disk (SFT/DPO the latest, RFT the best by
        validation reward); drop the rows of the others."""
        for row in checkpoint_store.job_checkpoints(session, job=job):
            if not self.storage.path(row.path).exists():
                model = model_store.get_model(session, project_id=job.project_id, model_id=row.model_name)
                if model is not None:
                    model_store.mark_deleted(session, row=model, now=ids.now())
                checkpoint_store.delete_checkpoint(session, row=row)

    def on_warning(self, message: str) -> None:
        self.note(message, level="warn")

    def note(self, message: str, *, level: str = "info") -> None:
        with self.db.write() as session:
            job = job_store.require_job(session, job_id=self.job_id)
            event_store.add_event(session, job=job, level=level, message=message)

    def should_stop(self) -> str | None:
        with self.db.read() as session:
            status = job_store.require_job(session, job_id=self.job_id).status
        return STOP_REQUESTS.get(status)

"""Run one claimed fine-tuning job to its end, inside its own process (``python -m openft.train``).

Reads the job from the store, finds the model it starts from (a base model, or an ft: model it
continues: lineage.py), resolves its hyperparameters, trains with SFT or DPO, and records the outcome:
the fine-tuned model, its result file and events on success; ``error`` and an error event on
failure (never a bare traceback); nothing more when cancelled or paused.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from openft import ids
from openft.config import Settings
from openft.datasets import validate_dataset
from openft.storage import Storage
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import models as model_store
from openft.store.db import Database
from openft.store.tables import FileRow, JobRow, ModelRow
from openft.store.transitions import RUNNING, TransitionRefused
from openft.train.hparams import resolve_hyperparameters
from openft.train.lineage import Lineage, ModelUnavailable, trace
from openft.train.naming import ModelNamer
from openft.train.progress import JobProgress
from openft.train.results import encoded, step_metrics_csv
from openft.train.spec import TrainSpec, paused_state

log = logging.getLogger("openft.train")
TRAINED_METHODS = ("supervised", "dpo")


class JobFailure(Exception):
    """A failure whose message is meant for the user, with an OpenAI-style error code."""

    def __init__(self, message: str, code: str = "training_failed"):
        super().__init__(message)
        self.code = code


def run_job(settings: Settings, job_id: str) -> None:
    db, storage = Database(settings.resolved_database_url), Storage(settings.data_dir)
    with db.read() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
    if job is None or job.status != RUNNING:
        log.info("job %s is not running (%s); nothing to do", job_id, job and job.status)
        return
    try:
        _train(settings, db, storage, job)
    except Exception as exc:  # the job fails with a message; the traceback goes to the log only
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        failure = (
            exc
            if isinstance(exc, JobFailure)
            else JobFailure(f"Training failed: {type(exc).__name__}: {exc}")
        )
        _fail(db, job_id, failure)
    finally:
        db.dispose()


def _dataset(db, storage, job: JobRow, file_id: str | None, role: str):
    if file_id is None:
        return None, None
    with db.read() as session:
        row = file_store.get_file(session, project_id=job.project_id, file_id=file_id)
    if row is None:
        raise JobFailure(f"The {role} file {file_id} no longer exists.", code=f"invalid_{role}_file")
    report = validate_dataset(storage.path(row.path), method=job.method["type"], file_id=file_id, role=role)
    if report.error is not None:
        raise JobFailure(report.error.message, code=report.error.code)
    return storage.path(row.path), report


def _lineage(settings: Settings, db: Database, storage: Storage, job: JobRow) -> Lineage:
    """Where the job starts: its configured base model, or the ft: model it continues."""
    try:
        with db.read() as session:
            return trace(settings, storage, session, project_id=job.project_id, base_model=job.base_model)
    except ModelUnavailable as exc:
        raise JobFailure(str(exc), code="model_not_available") from exc


def _resolve_hyperparameters(db: Database, job: JobRow, n_examples: int) -> dict:
    """The job's hyperparameters with "auto" resolved, stored on the job (it shows them once running)."""
    method = job.method["type"]
    requested = {k: v for k, v in job.method[method]["hyperparameters"].items() if v != "auto"}
    hyperparameters = resolve_hyperparameters(requested, n_examples=n_examples, method=method)
    with db.write() as session:
        row = job_store.get_job_any_project(session, job_id=job.id)
        row.hyperparameters = hyperparameters
    return hyperparameters


def _trainer(method: str):
    """The method's training function; the ML stack loads only here."""
    if method == "dpo":
        from openft.train.dpo import train_dpo

        return train_dpo
    from openft.train.sft import train_sft

    return train_sft


def _train(settings: Settings, db: Database, storage: Storage, job: JobRow) -> None:
    method = job.method["type"]
    if method not in TRAINED_METHODS:
        raise JobFailure(
            f"The '{method}' method is not available on this server yet.", code="method_not_available"
        )
    training, report = _dataset(db, storage, job, job.training_file, "training")
    validation, _ = _dataset(db, storage, job, job.validation_file, "validation")
    lineage = _lineage(settings, db, storage, job)
    config = settings.base_models[lineage.base_id]
    hyperparameters = _resolve_hyperparameters(db, job, report.n_examples)
    namer = ModelNamer(shown_model=job.model, organization=job.organization_name, suffix=job.suffix)
    progress = JobProgress(db, storage, job.id, namer, lineage.base_id)

    resume_from = paused_state(storage.job_dir(job.id))
    if resume_from is not None:
        progress.note(
            f"Resuming training from step {resume_from.name.split('-')[-1]}, where the job was paused"
        )
    result = _trainer(method)(
        TrainSpec(
            model_source=lineage.source,
            data_dir=storage.root,
            output_dir=storage.job_dir(job.id),
            training_file=training,
            validation_file=validation,
            fmt=report.format,
            hyperparameters=hyperparameters,
            base_learning_rate=config.base_learning_rate,
            seed=job.seed,
            full_finetune=lineage.full_finetune,
            adapter_dir=lineage.adapter_dir,
            max_length=config.context_length,
            resume_from=resume_from,
        ),
        progress,
    )
    if result.stopped:
        log.info("job %s stopped on request (%s) at step %d", job.id, result.stopped, result.steps)
        return
    _succeed(db, storage, job, namer.final(), lineage.base_id, result)
    for state in storage.job_dir(job.id).glob("checkpoint-*"):
        storage.remove(state.relative_to(storage.root))


def _step_rows(db: Database, job: JobRow) -> list[dict]:
    """One row per step from the job's metrics events; a step trained twice (after a lost
    worker) keeps its latest figures."""
    with db.read() as session:
        by_step = {data["step"]: data for data in event_store.metrics_data(session, job=job)}
    return [by_step[step] for step in sorted(by_step)]


def _succeed(db: Database, storage: Storage, job: JobRow, model_name: str, base_id: str, result) -> None:
    content = encoded(step_metrics_csv(_step_rows(db, job), job.method["type"]))
    temp = storage.incoming()
    temp.write_bytes(content)
    file_id = ids.file_id()
    relative_file = storage.keep_file(temp, file_id)
    relative_model = str(Path(result.final_dir).resolve().relative_to(storage.root))
    now = ids.now()
    try:
        with db.write() as session:
            row = job_store.get_job_any_project(session, job_id=job.id)
            job_store.transition(
                session,
                job=row,
                action="succeed",
                fine_tuned_model=model_name,
                trained_tokens=result.trained_tokens,
                finished_at=now,
                estimated_finish=None,
                result_files=[file_id],
            )
            file_store.add_file(
                session,
                row=FileRow(
                    id=file_id,
                    project_id=job.project_id,
                    filename="step_metrics.csv",
                    purpose="fine-tune-results",
                    bytes=len(content),
                    created_at=now,
                    status="processed",
                    path=relative_file,
                ),
            )
            model_store.add_model(
                session,
                row=ModelRow(
                    id=model_name,
                    project_id=job.project_id,
                    owned_by=job.organization_id,
                    job_id=job.id,
                    created_at=now,
                    base_model=base_id,
                    path=relative_model,
                ),
            )
            event_store.add_event(session, job=row, message=f"New fine-tuned model created: {model_name}")
            event_store.add_event(session, job=row, message="The job has successfully completed")
    except TransitionRefused as refused:  # cancelled at the very end: keep nothing of the outcome
        log.info("job %s was %s before it could succeed", job.id, refused.status)
        storage.remove(relative_file)


def _fail(db: Database, job_id: str, failure: JobFailure) -> None:
    with db.write() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
        error = {"code": failure.code, "message": str(failure), "param": None}
        try:
            job_store.transition(
                session, job=job, action="fail", error=error, finished_at=ids.now(), estimated_finish=None
            )
        except TransitionRefused:
            return
        event_store.add_event(session, job=job, level="error", message=str(failure))

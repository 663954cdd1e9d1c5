"""Run one claimed fine-tuning job to its end, inside its own process (``python -m openft.train``).

Reads the job from the store, finds the model it starts from (a base model, or an ft: model it
continues: ``catalog.locate``), plans the run once from the validation stage's result (the files
are not validated again), trains with the method's recipe, and records the outcome: the
fine-tuned model, its result file and events on success; ``error`` and an error event on failure
(never a bare traceback); nothing more when cancelled or paused.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import traceback
from collections.abc import Callable
from pathlib import Path

from openft import ids
from openft.catalog import Catalog, ModelTarget, ModelUnavailable
from openft.config import Settings
from openft.storage import Storage
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store import models as model_store
from openft.store.db import Database
from openft.store.tables import FileRow, JobRow
from openft.store.transitions import RUNNING, TransitionRefused
from openft.train import wandb_run
from openft.train.hparams import TrainPlan, plan_training
from openft.train.naming import ModelNamer
from openft.train.progress import JobProgress
from openft.train.reporter import Reporter
from openft.train.results import encoded, step_metrics_csv
from openft.train.spec import JobFailure, TrainResult, TrainSpec, paused_state

log = logging.getLogger("openft.train")
Recipe = Callable[[TrainSpec, Reporter], TrainResult]
# the training function of each method (module, name), imported when a job of that method starts
RECIPES = {
    "supervised": ("openft.train.sft", "train_sft"),
    "dpo": ("openft.train.dpo", "train_dpo"),
    "reinforcement": ("openft.train.rl", "train_rl"),
}


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


def _recipe(method: str) -> Recipe:
    """The method's training function; the ML stack loads only here."""
    if method not in RECIPES:
        raise JobFailure(
            f"The '{method}' method is not available on this server yet.", code="method_not_available"
        )
    module, name = RECIPES[method]
    return getattr(importlib.import_module(module), name)


def _validated(job: JobRow, role: str) -> dict | None:
    """What the validation stage learned of the job's ``role`` file (None: the job has none)."""
    if job.validated_files is None:
        raise JobFailure(
            "The job's files were never validated (it was queued by an older server); create it again.",
            code="invalid_training_file",
        )
    return job.validated_files.get(role)


def _validated_training(job: JobRow) -> dict:
    training = _validated(job, "training")
    if training is None:  # the validation stage records the training file of every job it accepts
        message = "The job's training file was never validated; create it again."
        raise JobFailure(message, code="invalid_training_file")
    return training


def _file_path(db: Database, storage: Storage, job: JobRow, validated: dict, role: str) -> Path:
    file_id = validated["file_id"]
    with db.read() as session:
        row = file_store.get_file(session, project_id=job.project_id, file_id=file_id)
    if row is None:
        raise JobFailure(f"The {role} file {file_id} no longer exists.", code=f"invalid_{role}_file")
    return storage.path(row.path)


def _start_model(settings: Settings, db: Database, storage: Storage, job: JobRow) -> ModelTarget:
    """Where the job starts: its configured base model, or the ft: model it continues, located in the
    project that owned it when the job was created (a checkpoint shared then stays reachable)."""
    project_id = job.base_project_id or job.project_id
    try:
        with db.read() as session:
            return Catalog(settings, storage).locate(session, project_id=project_id, name=job.base_model)
    except ModelUnavailable as exc:
        raise JobFailure(str(exc), code="model_not_available") from exc


def _plan(settings: Settings, db: Database, job: JobRow, model: ModelTarget, n_examples: int) -> TrainPlan:
    """The run, with "auto" resolved, its hyperparameters stored on the job (it shows them once running)."""
    method = job.method["type"]
    plan = plan_training(
        job.method[method]["hyperparameters"],
        n_examples=n_examples,
        method=method,
        full_finetune=model.trains_fully,
        base_learning_rate=settings.base_models[model.base_id].base_learning_rate,
    )
    with db.write() as session:
        row = job_store.require_job(session, job_id=job.id)
        row.hyperparameters = plan.hyperparameters
    return plan


def _reinforcement(settings: Settings, db: Database, storage: Storage, job: JobRow) -> dict:
    """A reinforcement job's grader, the context its rewards are graded in, the samples' response
    format and the engine that samples them; nothing for the other methods."""
    if job.method["type"] != "reinforcement":
        return {}
    from openft.serve.engine import vllm_usable
    from openft.train.grading import grade_context

    method = job.method["reinforcement"]
    engine = settings.serve_engine
    return {
        "grader": method["grader"],
        "grading": grade_context(settings, db, storage, job.project_id),
        "response_format": method.get("response_format"),
        "use_vllm": engine == "vllm" or (engine == "auto" and vllm_usable()),
    }


def _train(settings: Settings, db: Database, storage: Storage, job: JobRow) -> None:
    recipe = _recipe(job.method["type"])
    training = _validated_training(job)
    validation = _validated(job, "validation")
    model = _start_model(settings, db, storage, job)
    plan = _plan(settings, db, job, model, training["n_examples"])
    namer = ModelNamer(shown_model=job.model, organization=job.organization_name, suffix=job.suffix)
    progress = JobProgress(db, storage, job.id, namer, model.base_id, method=job.method["type"])

    resume_from = paused_state(storage.job_dir(job.id))
    if resume_from is not None:
        progress.note(
            f"Resuming training from step {resume_from.name.split('-')[-1]}, where the job was paused"
        )
    training_file = _file_path(db, storage, job, training, "training")
    validation_file = None if validation is None else _file_path(db, storage, job, validation, "validation")
    spec = TrainSpec(
        model=model,
        data_dir=storage.root,
        output_dir=storage.job_dir(job.id),
        training_file=training_file,
        validation_file=validation_file,
        fmt=training["format"],
        plan=plan,
        seed=job.seed,
        resume_from=resume_from,
        **_reinforcement(settings, db, storage, job),
    )
    with wandb_run.mirrored(progress, settings, job, plan) as reporter:
        result = recipe(spec, reporter)
    if result.stopped:
        log.info("job %s stopped on request (%s) at step %d", job.id, result.stopped, result.steps)
        return
    _succeed(db, storage, job, namer.final(), model.base_id, result)
    for state in storage.job_dir(job.id).glob("checkpoint-*"):
        storage.remove(state.relative_to(storage.root))


def _step_rows(db: Database, job: JobRow) -> list[dict]:
    """One row per step from the job's metrics events; a step trained twice (after a lost
    worker) keeps its latest figures."""
    with db.read() as session:
        by_step = {data["step"]: data for data in event_store.metrics_data(session, job=job)}
    return [by_step[step] for step in sorted(by_step)]


def _succeed(
    db: Database, storage: Storage, job: JobRow, model_name: str, base_id: str, result: TrainResult
) -> None:
    if result.final_dir is None:  # the recipes save the final model of every run not stopped
        raise JobFailure("Training finished without saving the final model.")
    content = encoded(step_metrics_csv(_step_rows(db, job), job.method["type"]))
    temp = storage.incoming()
    temp.write_bytes(content)
    file_id = ids.file_id()
    relative_file = storage.keep_file(temp, file_id)
    relative_model = str(Path(result.final_dir).resolve().relative_to(storage.root))
    now = ids.now()
    try:
        with db.write() as session:
            row = job_store.require_job(session, job_id=job.id)
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
            model_store.add_job_model(
                session, job=row, name=model_name, base_model=base_id, path=relative_model, created_at=now
            )
            event_store.add_event(session, job=row, message=f"New fine-tuned model created: {model_name}")
            lifecycle.succeed(
                session,
                job=row,
                fine_tuned_model=model_name,
                trained_tokens=result.trained_tokens,
                result_files=[file_id],
            )
    except TransitionRefused as refused:  # cancelled at the very end: keep nothing of the outcome
        log.info("job %s was %s before it could succeed", job.id, refused.status)
        storage.remove(relative_file)


def _fail(db: Database, job_id: str, failure: JobFailure) -> None:
    with db.write() as session, contextlib.suppress(TransitionRefused):
        job = job_store.require_job(session, job_id=job_id)
        lifecycle.fail(session, job=job, code=failure.code, message=str(failure))

"""Run one claimed fine-tuning job to its end, inside its own process (``python -m openft.train``).

Reads the job from the store, finds the model it starts from (a base model, or an ft: model it
continues: ``catalog.locate``), plans the run once from the validation stage's result (the files
are not validated again), trains with the method's recipe, and records the outcome: the
fine-tuned model, its result file and events on success; ``error`` and an error event on failure
(never a bare traceback); nothing more when cancelled or paused.

It runs one start of the job (``attempt``, the claim its worker made) and writes only while that
start still owns the job (``jobs.claimed_job``). It continues from the job's latest saved state
(states.py) when there is one, after clearing what a killed start left half-written; on SIGTERM
it saves the state and exits SUSPENDED for its worker to put the job back in the queue.
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
from openft.lm import numerics
from openft.storage import Storage, is_disk_full
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store import models as model_store
from openft.store.db import Database
from openft.store.tables import FileRow, JobRow
from openft.store.transitions import RUNNING, TransitionRefused
from openft.train import states, wandb_run
from openft.train.checkpoints import remove_leftovers
from openft.train.hparams import TrainPlan, plan_training
from openft.train.lifeline import SUSPENDED, StopRequest
from openft.train.naming import ModelNamer
from openft.train.progress import JobProgress
from openft.train.reporter import SUSPEND, Reporter, long_step
from openft.train.results import encoded, step_metrics_csv
from openft.train.spec import (
    JobFailure,
    TrainResult,
    TrainSpec,
    checkpoints_dir,
    scratch_dir,
    states_root,
)

log = logging.getLogger("openft.train")
Recipe = Callable[[TrainSpec, Reporter], TrainResult]
# the training function of each method (module, name), imported when a job of that method starts
RECIPES = {
    "supervised": ("openft.train.sft", "train_sft"),
    "dpo": ("openft.train.dpo", "train_dpo"),
    "reinforcement": ("openft.train.rl", "train_rl"),
}


def run_job(
    settings: Settings, job_id: str, attempt: int | None = None, stop: StopRequest | None = None
) -> int:
    """Run start ``attempt`` of the job (None: its current one); returns the process's exit status:
    0, or SUSPENDED when it saved its state on request (``stop``) and its job goes back in line."""
    db, storage = Database(settings.resolved_database_url), Storage(settings.data_dir)
    with db.read() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
    if job is None or job.status != RUNNING or (attempt is not None and job.attempts != attempt):
        log.info(
            "job %s is not running as attempt %s (%s); nothing to do", job_id, attempt, job and job.status
        )
        return 0
    attempt = job.attempts
    try:
        return _train(settings, db, storage, job, attempt, stop)
    except job_store.ClaimLost as lost:  # cancelled, or started again elsewhere: write nothing more
        log.info("%s; the training process stops", lost)
    except Exception as exc:  # the job fails with a message; the traceback goes to the log only
        log.error("job %s failed:\n%s", job_id, traceback.format_exc())
        _fail(db, job_id, attempt, _failure(exc))
    finally:
        db.dispose()
    return 0


def _failure(exc: Exception) -> JobFailure:
    if isinstance(exc, JobFailure):
        return exc
    if is_disk_full(exc):
        message = (
            f"Training stopped: the data dir has no space left ({exc}). Free some and create the job again."
        )
        return JobFailure(message, code="storage_full")
    return JobFailure(f"Training failed: {type(exc).__name__}: {exc}")


def _recipe(method: str, reporter: Reporter) -> Recipe:
    """The method's training function; the ML stack loads only here."""
    module, name = RECIPES[method]
    with long_step(reporter, "Loading the training libraries"):
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


def _plan(
    settings: Settings, db: Database, job: JobRow, attempt: int, model: ModelTarget, n_examples: int
) -> TrainPlan:
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
        row = job_store.claimed_job(session, job_id=job.id, attempt=attempt)
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


def _resume_point(progress: JobProgress, output_dir: Path, plan: TrainPlan) -> Path | None:
    """The latest saved state to continue from (None: from the start), once what a killed start
    left half-written (a state, a checkpoint or a final model being saved) is cleared."""
    states.clear(scratch_dir(output_dir))
    remove_leftovers(checkpoints_dir(output_dir))
    remove_leftovers(output_dir)
    state = states.latest(states_root(output_dir))
    if state is None:
        return None
    try:
        states.check(state, total_steps=plan.total_steps)
    except states.StateUnusable as exc:
        message = f"The job cannot continue from its saved training state at step {state.step}: {exc}."
        raise JobFailure(message, code="resume_failed") from exc
    where = "where the job was paused" if state.reason == states.PAUSE_REASON else "its latest saved state"
    progress.on_note(f"Resuming training from step {state.step}, {where}")
    return state.path


def _train(
    settings: Settings, db: Database, storage: Storage, job: JobRow, attempt: int, stop: StopRequest | None
) -> int:
    if job.method["type"] not in RECIPES:
        raise JobFailure(
            f"The '{job.method['type']}' method is not available on this server yet.",
            code="method_not_available",
        )
    training = _validated_training(job)
    validation = _validated(job, "validation")
    model = _start_model(settings, db, storage, job)
    plan = _plan(settings, db, job, attempt, model, training["n_examples"])
    namer = ModelNamer(shown_model=job.model, organization=job.organization_name, suffix=job.suffix)
    progress = JobProgress(
        db,
        storage,
        job.id,
        namer,
        model.base_id,
        attempt=attempt,
        method=job.method["type"],
        stop_request=stop,
    )
    recipe = _recipe(job.method["type"], progress)
    output_dir = storage.job_dir(job.id)
    resume_from = _resume_point(progress, output_dir, plan)
    chosen = numerics.choose(settings.compute_dtype)
    progress.on_note(chosen.describe())
    training_file = _file_path(db, storage, job, training, "training")
    validation_file = None if validation is None else _file_path(db, storage, job, validation, "validation")
    spec = TrainSpec(
        model=model,
        data_dir=storage.root,
        output_dir=output_dir,
        training_file=training_file,
        validation_file=validation_file,
        fmt=training["format"],
        plan=plan,
        seed=job.seed,
        resume_from=resume_from,
        state_every_steps=settings.state_interval_steps,
        state_every_seconds=settings.state_interval_seconds,
        numerics=chosen,
        packed_weights=settings.packed_weights,
        fused_kernels=settings.fused_kernels,
        **_reinforcement(settings, db, storage, job),
    )
    with wandb_run.mirrored(progress, settings, job, plan) as reporter:
        result = recipe(spec, reporter)
    if result.stopped:
        log.info("job %s stopped on request (%s) at step %d", job.id, result.stopped, result.steps)
        return SUSPENDED if result.stopped == SUSPEND else 0
    progress.forget_pruned(checkpoints_dir(output_dir))
    _succeed(db, storage, job, attempt, namer.final(), model.base_id, result)
    for folder in (states_root(output_dir), scratch_dir(output_dir)):  # no row points into these
        storage.remove(folder.relative_to(storage.root))
    return 0


def _step_rows(db: Database, job: JobRow) -> list[dict]:
    """One row per step from the job's metrics events; a step trained twice (after a lost
    worker) keeps its latest figures."""
    with db.read() as session:
        by_step = {data["step"]: data for data in event_store.metrics_data(session, job=job)}
    return [by_step[step] for step in sorted(by_step)]


def _succeed(
    db: Database,
    storage: Storage,
    job: JobRow,
    attempt: int,
    model_name: str,
    base_id: str,
    result: TrainResult,
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
            row = job_store.claimed_job(session, job_id=job.id, attempt=attempt)
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
                attempt=attempt,
            )
    except (TransitionRefused, job_store.ClaimLost) as refused:  # cancelled at the very end
        log.info("job %s was %s before it could succeed", job.id, refused.status)
        storage.remove(relative_file)


def _fail(db: Database, job_id: str, attempt: int, failure: JobFailure) -> None:
    with db.write() as session, contextlib.suppress(TransitionRefused):
        job = job_store.require_job(session, job_id=job_id)
        lifecycle.fail(session, job=job, code=failure.code, message=str(failure), attempt=attempt)

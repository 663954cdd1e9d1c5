"""W&B: a job with a ``wandb`` integration mirrors its progress to a Weights & Biases run.

As OpenAI does it (reference §8.5): the run's id and default name are the job id, in the
integration's project and entity (the key's default entity when none), tagged
``openai/finetune``, ``openai/{base model}`` and ``openai/{job id}`` plus the user's tags, with a
config of the model, files, hyperparameters and seed, and every metrics event's values logged at
its step (nested RFT figures flattened: ``scores/<grader>/train_reward_mean``). A job that runs
again after a pause or a crash continues the same run (``resume="allow"``). The standard
``WANDB_*`` environment variables keep their meaning (``WANDB_MODE=offline``, ``WANDB_DIR``,
``WANDB_BASE_URL``). W&B never fails or stops a job: a run that cannot start is a warning event,
and a failed log call is logged and dropped (the wandb service process sends in the background).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openft.config import Settings
from openft.store.tables import JobRow
from openft.train.hparams import TrainPlan
from openft.train.reporter import Reporter

log = logging.getLogger(__name__)
INIT_TIMEOUT_SECONDS = 60.0


class WandbReporter:
    """The job's Reporter, with every step's metrics also logged to a W&B run."""

    def __init__(self, inner: Reporter, run: Any):
        self.inner, self.run = inner, run

    def on_start(self, *, total_steps: int, steps_per_epoch: int, n_epochs: int) -> None:
        self.inner.on_start(total_steps=total_steps, steps_per_epoch=steps_per_epoch, n_epochs=n_epochs)

    def on_step(self, step: int, metrics: dict) -> None:
        self.inner.on_step(step, metrics)
        try:
            self.run.log(flat_numbers(metrics), step=step)
        except Exception:  # W&B must never stop training
            log.warning("W&B log of step %d failed", step, exc_info=True)

    def on_epoch_end(self, step: int, epoch: int, metrics: dict) -> None:
        self.inner.on_epoch_end(step, epoch, metrics)

    def on_checkpoint(self, step: int, path: Path, metrics: dict) -> None:
        self.inner.on_checkpoint(step, path, metrics)

    def on_warning(self, message: str) -> None:
        self.inner.on_warning(message)

    def on_note(self, message: str) -> None:
        self.inner.on_note(message)

    def should_stop(self) -> str | None:
        return self.inner.should_stop()


@contextlib.contextmanager
def mirrored(reporter: Reporter, settings: Settings, job: JobRow, plan: TrainPlan) -> Iterator[Reporter]:
    """``reporter``, mirrored to W&B for the duration when the job has a wandb integration."""
    integration = wandb_integration(job)
    run = _start(reporter, settings, job, plan, integration) if integration else None
    if run is None:
        yield reporter
        return
    failed = True
    try:
        yield WandbReporter(reporter, run)
        failed = False
    finally:
        with contextlib.suppress(Exception):
            run.finish(exit_code=1 if failed else 0)


def wandb_integration(job: JobRow) -> dict | None:
    return next((item["wandb"] for item in job.integrations or [] if item.get("type") == "wandb"), None)


def run_tags(job: JobRow, integration: dict) -> list[str]:
    """OpenAI's default tags (the base model as the job shows it) and the user's."""
    defaults = ["openai/finetune", f"openai/{job.model}", f"openai/{job.id}"]
    return defaults + [tag for tag in integration.get("tags") or [] if tag not in defaults]


def run_config(job: JobRow, plan: TrainPlan) -> dict:
    return {
        "model": job.model,
        "method": job.method["type"],
        "training_file": job.training_file,
        "validation_file": job.validation_file,
        "hyperparameters": plan.hyperparameters,
        "seed": job.seed,
    }


def flat_numbers(metrics: dict, prefix: str = "") -> dict[str, float]:
    """The numbers of a metrics dict, nested ones under ``a/b`` keys; a list of named entries
    (RFT's per-grader figures) is keyed by each entry's name."""
    flat: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            flat[name] = value
        elif isinstance(value, dict):
            flat |= flat_numbers(value, f"{name}/")
        elif isinstance(value, list):
            for index, entry in enumerate(value):
                if isinstance(entry, dict):
                    label = entry.get("model") or entry.get("name") or index
                    flat |= flat_numbers(entry, f"{name}/{label}/")
    return flat


def _start(reporter, settings: Settings, job: JobRow, plan: TrainPlan, integration: dict):
    try:
        import wandb

        return wandb.init(
            id=job.id,
            name=integration.get("name") or job.id,
            project=integration["project"],
            entity=integration.get("entity"),
            tags=run_tags(job, integration),
            config=run_config(job, plan),
            resume="allow",
            dir=os.environ.get("WANDB_DIR") or str(Path(settings.data_dir) / "wandb"),
            settings=wandb.Settings(
                api_key=settings.wandb_key(job.project_id),
                init_timeout=INIT_TIMEOUT_SECONDS,
                silent=True,
                console="off",
                **({"base_url": settings.wandb_host} if settings.wandb_host else {}),
            ),
        )
    except Exception as exc:  # W&B must never fail the job
        log.warning("W&B run of job %s did not start", job.id, exc_info=True)
        reporter.on_warning(
            f"The Weights & Biases run could not start ({type(exc).__name__}: {exc}); "
            "training goes on without it"
        )
        return None

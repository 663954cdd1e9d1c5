"""What grading needs besides the grader and the sample: a model client, a sandbox, metric
workers, and the bounds of one grading.

`GradeContext.from_settings` builds them from the server's settings: the external
OpenAI-compatible endpoint when `grader_api_base` is set, else the model client the caller
passes (the API passes one on its own engine), the python sandbox with its limits, the
text_similarity worker pool, the deadline of every grading (`grader_timeout_seconds`) and the
size limit of rendered texts (`grader_max_sample_bytes`). The API and the trainer each keep one
context per process (the sandbox probes bubblewrap once); `with_cancel` gives one request's copy
whose gradings stop when its client goes away.

`python_sandbox_problem(settings)` says, before any grading, why python graders would be refused
here (None when they can run): a job's validation stage puts it in an event.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, replace
from functools import lru_cache

from openft.config import Settings
from openft.graders.metric_workers import MetricWorkers, shared_workers
from openft.graders.model_client import ModelClient, OpenAIEndpoint
from openft.graders.sandbox import Sandbox, SandboxLimits

__all__ = ["Deadline", "GradeContext", "python_sandbox_problem", "sandbox_from_settings"]


def sandbox_from_settings(settings: Settings) -> Sandbox:
    limits = SandboxLimits(
        timeout_seconds=settings.grader_timeout_seconds,
        memory_bytes=settings.grader_memory_bytes,
        disk_bytes=settings.grader_disk_bytes,
        cpu_cores=settings.grader_cpu_cores,
        max_processes=settings.grader_max_processes,
        max_output_bytes=settings.grader_max_output_bytes,
    )
    return Sandbox(settings.grader_sandbox, limits, concurrency=settings.grader_concurrency)


@lru_cache(maxsize=4)
def _problem(mode: str, path: str) -> str | None:
    return Sandbox(mode).problem


def python_sandbox_problem(settings: Settings) -> str | None:
    """Why python graders cannot run with these settings (a sentence saying what to do), or None.
    Probes bubblewrap once per mode and PATH."""
    return _problem(settings.grader_sandbox, os.environ.get("PATH", ""))


@dataclass(frozen=True)
class Deadline:
    """The end of one grading (time.monotonic()), and its client's cancel event."""

    at: float
    cancel: threading.Event | None = None

    @classmethod
    def after(cls, seconds: float, cancel: threading.Event | None = None) -> Deadline:
        return cls(time.monotonic() + seconds, cancel)

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.at or (self.cancel is not None and self.cancel.is_set())


@dataclass(frozen=True)
class GradeContext:
    models: ModelClient | None = None  # None: model graders report model_grader_server_error
    sandbox: Sandbox | None = None  # None: python graders report python_grader_server_error
    metrics: MetricWorkers | None = None  # None: the process's shared pool
    timeout_seconds: float = 120.0  # every grading's deadline (unresponsive_reward_error past it)
    max_text_bytes: int = 64 * 1024  # a rendered text_similarity / string_check text
    cancel: threading.Event | None = None

    @classmethod
    def from_settings(cls, settings: Settings, *, engine_client: ModelClient | None = None) -> GradeContext:
        models: ModelClient | None = engine_client
        if settings.grader_api_base:
            models = OpenAIEndpoint(
                settings.grader_api_base,
                settings.grader_api_key,
                timeout=settings.grader_model_timeout_seconds,
            )
        return cls(
            models=models,
            sandbox=sandbox_from_settings(settings),
            metrics=MetricWorkers(settings.grader_concurrency, settings.grader_memory_bytes),
            timeout_seconds=settings.grader_timeout_seconds,
            max_text_bytes=settings.grader_max_sample_bytes,
        )

    @property
    def workers(self) -> MetricWorkers:
        return self.metrics if self.metrics is not None else shared_workers()

    def deadline(self) -> Deadline:
        return Deadline.after(self.timeout_seconds, self.cancel)

    def with_models(self, models: ModelClient | None) -> GradeContext:
        return replace(self, models=models)

    def with_cancel(self, cancel: threading.Event) -> GradeContext:
        return replace(self, cancel=cancel)

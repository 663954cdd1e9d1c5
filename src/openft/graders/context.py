"""What grading needs besides the grader and the sample: a model client and a sandbox.

`GradeContext.from_settings` builds both from the server's settings: the external
OpenAI-compatible endpoint when `grader_api_base` is set, else the model client the caller
passes (the API passes one on its own engine), and the python sandbox with its limits. The API
and the trainer each keep one context per process (the sandbox probes bubblewrap once).
"""

from __future__ import annotations

from dataclasses import dataclass

from openft.config import Settings
from openft.graders.model_client import ModelClient, OpenAIEndpoint
from openft.graders.sandbox import Sandbox, SandboxLimits

__all__ = ["GradeContext", "sandbox_from_settings"]


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


@dataclass(frozen=True)
class GradeContext:
    models: ModelClient | None = None  # None: model graders report model_grader_server_error
    sandbox: Sandbox | None = None  # None: python graders report python_grader_server_error

    @classmethod
    def from_settings(cls, settings: Settings, *, engine_client: ModelClient | None = None) -> GradeContext:
        models: ModelClient | None = engine_client
        if settings.grader_api_base:
            models = OpenAIEndpoint(
                settings.grader_api_base,
                settings.grader_api_key,
                timeout=settings.grader_model_timeout_seconds,
            )
        return cls(models=models, sandbox=sandbox_from_settings(settings))

    def with_models(self, models: ModelClient | None) -> GradeContext:
        return GradeContext(models=models, sandbox=self.sandbox)

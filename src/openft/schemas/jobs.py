"""Fine-tuning job requests and objects: CreateFineTuningJobRequest, FineTuningJob, events, checkpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from openft.schemas.chat import ResponseFormat
from openft.schemas.graders import FineTuningGrader
from openft.schemas.hyperparameters import (
    HYPERPARAMETERS,
    DpoHyperparameters,
    ReinforcementHyperparameters,
    SupervisedHyperparameters,
)

MethodType = Literal["supervised", "dpo", "reinforcement"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupervisedMethod(_Strict):
    hyperparameters: SupervisedHyperparameters | None = None


class DpoMethod(_Strict):
    hyperparameters: DpoHyperparameters | None = None


class ReinforcementMethod(_Strict):
    grader: FineTuningGrader
    hyperparameters: ReinforcementHyperparameters | None = None
    # the samples' structured output, validated as chat requests validate it (reference §5.4)
    response_format: ResponseFormat | None = None


class Method(_Strict):
    type: MethodType
    supervised: SupervisedMethod | None = None
    dpo: DpoMethod | None = None
    reinforcement: ReinforcementMethod | None = None

    @model_validator(mode="after")
    def _grader_required(self) -> Method:
        if self.type == "reinforcement" and self.reinforcement is None:
            raise PydanticCustomError(
                "missing", "reinforcement.grader is required when type is 'reinforcement'"
            )
        return self


Tag = Annotated[str, Field(min_length=1, max_length=64)]


class WandbConfig(_Strict):
    project: str = Field(min_length=1)
    name: str | None = None
    entity: str | None = None
    tags: list[Tag] | None = Field(default=None, max_length=50)


class Integration(_Strict):
    type: Literal["wandb"]
    wandb: WandbConfig


MetadataKey = Annotated[str, Field(max_length=64)]
MetadataValue = Annotated[str, Field(max_length=512)]


class CreateJobRequest(_Strict):
    model: str = Field(min_length=1)
    training_file: str = Field(min_length=1)
    validation_file: str | None = None
    suffix: str | None = Field(default=None, min_length=1, max_length=64)
    seed: int | None = Field(default=None, ge=0, le=2147483647, strict=True)
    method: Method | None = None
    hyperparameters: SupervisedHyperparameters | None = None
    integrations: list[Integration] | None = Field(default=None, max_length=5)
    metadata: dict[MetadataKey, MetadataValue] | None = Field(default=None, max_length=16)

    @field_validator("suffix")
    @classmethod
    def _suffix_chars(cls, value: str | None) -> str | None:
        if value is not None and any(ch in value for ch in ":/ \t\r\n"):
            raise PydanticCustomError("invalid_value", "may not contain ':', '/' or whitespace")
        return value

    def method_spec(self) -> dict:
        """The method as stored and echoed: only the chosen type's block, every hyperparameter
        present ("auto" where not given). The deprecated top-level hyperparameters fill a
        supervised method that has none of its own."""
        kind = self.method.type if self.method else "supervised"
        block: SupervisedMethod | DpoMethod | ReinforcementMethod | None = (
            getattr(self.method, kind, None) if self.method else None
        )
        hyperparameters = block.hyperparameters if block is not None else None
        if hyperparameters is None and kind == "supervised":
            hyperparameters = self.hyperparameters
        spec: dict[str, Any] = {
            "hyperparameters": (hyperparameters or HYPERPARAMETERS[kind]()).model_dump(mode="json")
        }
        if isinstance(block, ReinforcementMethod):  # Method guarantees the block for reinforcement
            spec["grader"] = block.grader.model_dump(mode="json", exclude_none=True)
            response_format = block.response_format
            spec["response_format"] = (
                response_format.model_dump(mode="json", by_alias=True, exclude_none=True)
                if response_format is not None
                else None
            )
        return {"type": kind, kind: spec}


class JobError(BaseModel):
    code: str
    message: str
    param: str | None


class FineTuningJob(BaseModel):
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    id: str
    created_at: int
    model: str
    organization_id: str
    status: str
    training_file: str
    validation_file: str | None
    result_files: list[str]
    fine_tuned_model: str | None
    finished_at: int | None
    trained_tokens: int | None
    error: JobError | None
    hyperparameters: dict[str, Any]
    seed: int
    estimated_finish: int | None
    integrations: list[dict[str, Any]] | None
    method: dict[str, Any]
    metadata: dict[str, str] | None
    user_provided_suffix: str | None
    usage_metrics: dict[str, Any] | None = None
    shared_with_openai: bool = False


class JobEvent(BaseModel):
    object: Literal["fine_tuning.job.event"] = "fine_tuning.job.event"
    id: str
    created_at: int
    level: Literal["info", "warn", "error"]
    message: str
    type: Literal["message", "metrics"]
    data: dict[str, Any]


class JobCheckpoint(BaseModel):
    object: Literal["fine_tuning.job.checkpoint"] = "fine_tuning.job.checkpoint"
    id: str
    created_at: int
    fine_tuned_model_checkpoint: str
    fine_tuning_job_id: str
    step_number: int
    metrics: dict[str, float]

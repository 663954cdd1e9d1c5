"""The alpha graders endpoints' bodies: RunGraderRequest / RunGraderResponse and the
validate pair, field for field as OpenAI's spec has them.

`grader` is kept as the client's JSON object here and validated with `parse_grader` by the
router, so that an invalid grader is a 400 naming the field inside it (`grader.graders.x.operation`)
and `validate` can echo exactly what was sent.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunGraderRequest(_Request):
    grader: dict[str, Any]
    model_sample: str
    item: dict[str, Any] | None = None


class ValidateGraderRequest(_Request):
    grader: dict[str, Any]


class ValidateGraderResponse(BaseModel):
    grader: dict[str, Any]


class GraderRunErrors(BaseModel):
    formula_parse_error: bool
    sample_parse_error: bool
    truncated_observation_error: bool
    unresponsive_reward_error: bool
    invalid_variable_error: bool
    other_error: bool
    python_grader_server_error: bool
    python_grader_server_error_type: str | None
    python_grader_runtime_error: bool
    python_grader_runtime_error_details: str | None
    model_grader_server_error: bool
    model_grader_refusal_error: bool
    model_grader_parse_error: bool
    model_grader_server_error_details: str | None


class GraderRunMetadata(BaseModel):
    name: str
    type: str
    errors: GraderRunErrors
    execution_time: float
    scores: dict[str, Any]
    token_usage: int | None  # total tokens of model graders (the SDK types it as an integer)
    sampled_model_name: str | None


class RunGraderResponse(BaseModel):
    reward: float
    metadata: GraderRunMetadata
    sub_rewards: dict[str, Any]
    model_grader_token_usage_per_model: dict[str, Any]  # model -> {prompt, total, completion, cached tokens}

"""What grading returns: the reward, the 14 error flags of OpenAI's run metadata, token usage.

A grader that fails never raises out of `grade()`: it returns reward 0 with the matching flag
set (and details where the flag has a details field). `GraderFailure` is how the code of one
grader type reports such a failure to the dispatcher.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

__all__ = ["ErrorFlags", "GradeResult", "GraderFailure", "Usage"]

_DETAILS = {  # flag -> the nullable field that carries its details
    "python_grader_server_error": "python_grader_server_error_type",
    "python_grader_runtime_error": "python_grader_runtime_error_details",
    "model_grader_server_error": "model_grader_server_error_details",
}


@dataclass(frozen=True)
class ErrorFlags:
    """The `metadata.errors` object: 11 booleans and 3 nullable strings, all always present."""

    formula_parse_error: bool = False
    sample_parse_error: bool = False
    truncated_observation_error: bool = False
    unresponsive_reward_error: bool = False
    invalid_variable_error: bool = False
    other_error: bool = False
    python_grader_server_error: bool = False
    python_grader_server_error_type: str | None = None
    python_grader_runtime_error: bool = False
    python_grader_runtime_error_details: str | None = None
    model_grader_server_error: bool = False
    model_grader_refusal_error: bool = False
    model_grader_parse_error: bool = False
    model_grader_server_error_details: str | None = None

    @classmethod
    def of(cls, flag: str, details: str | None = None) -> ErrorFlags:
        """One flag set, with its details when the flag has a details field."""
        values: dict[str, Any] = {flag: True}
        if flag in _DETAILS:
            values[_DETAILS[flag]] = details
        return cls(**values)

    @property
    def any(self) -> bool:
        return any(getattr(self, f.name) is True for f in fields(self))

    def merge(self, other: ErrorFlags) -> ErrorFlags:
        """Flags of both; each details field keeps the first non-null value."""
        values = {}
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            values[f.name] = (mine or theirs) if f.type == "bool" else (mine if mine is not None else theirs)
        return ErrorFlags(**values)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "total_tokens": self.total_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
        }


class GraderFailure(Exception):
    """A grader could not produce a reward: reported as `flag` (+ details), reward 0."""

    def __init__(self, flag: str, details: str | None = None):
        super().__init__(details or flag)
        self.flag = flag
        self.details = details

    @property
    def errors(self) -> ErrorFlags:
        return ErrorFlags.of(self.flag, self.details)


@dataclass(frozen=True)
class GradeResult:
    """One grading of one sample, shaped after OpenAI's `RunGraderResponse`."""

    name: str
    type: str
    reward: float = 0.0
    errors: ErrorFlags = ErrorFlags()
    execution_time: float = 0.0
    scores: dict[str, float] = field(default_factory=dict)
    sub_rewards: dict[str, float] = field(default_factory=dict)
    usage: dict[str, Usage] = field(default_factory=dict)  # per sampled model
    sampled_model_name: str | None = None

    def timed(self, seconds: float) -> GradeResult:
        return replace(self, execution_time=seconds)

    @property
    def token_usage(self) -> int | None:
        """Total tokens of model graders (an integer, as the SDK types it); None for the others."""
        return sum(u.total_tokens for u in self.usage.values()) if self.usage else None

    def to_wire(self) -> dict[str, Any]:
        metadata = {
            "name": self.name,
            "type": self.type,
            "errors": self.errors.as_dict(),
            "execution_time": self.execution_time,
            "scores": dict(self.scores),
            "token_usage": self.token_usage,
            "sampled_model_name": self.sampled_model_name,
        }
        per_model = {model: usage.as_dict() for model, usage in self.usage.items()}
        return {
            "reward": self.reward,
            "metadata": metadata,
            "sub_rewards": dict(self.sub_rewards),
            "model_grader_token_usage_per_model": per_model,
        }

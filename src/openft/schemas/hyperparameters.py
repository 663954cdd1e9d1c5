"""Hyperparameters of each method: every value is "auto" or a number within its documented bounds."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


def _bounds_text(integer: bool, gt, ge, le) -> str:
    kind = "an integer" if integer else "a number"
    parts = []
    if gt is not None:
        parts.append(f"greater than {gt}")
    if ge is not None:
        parts.append(f"at least {ge}")
    if le is not None:
        parts.append(f"at most {le}")
    return f"'auto' or {kind}" + (" " + " and ".join(parts) if parts else "")


def auto_or(*, integer: bool, gt: float | None = None, ge: float | None = None, le: float | None = None):
    """A field that is the string "auto" or a number in range; errors name the bounds."""
    expected = _bounds_text(integer, gt, ge, le)

    def check(value: Any):
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise PydanticCustomError(
                "invalid_type",
                "expected {expected}, but got {got}",
                {"expected": expected, "got": repr(value)},
            )
        if integer and not float(value).is_integer():
            raise PydanticCustomError(
                "invalid_type",
                "expected {expected}, but got {got}",
                {"expected": expected, "got": repr(value)},
            )
        out_of_range = (
            (gt is not None and value <= gt)
            or (ge is not None and value < ge)
            or (le is not None and value > le)
        )
        if out_of_range:
            raise PydanticCustomError(
                "invalid_value",
                "expected {expected}, but got {got}",
                {"expected": expected, "got": repr(value)},
            )
        return int(value) if integer else value

    number = {"type": "integer" if integer else "number"}
    return Annotated[Any, PlainValidator(check), WithJsonSchema({"anyOf": [{"const": "auto"}, number]})]


BatchSize = auto_or(integer=True, ge=1, le=256)
LearningRateMultiplier = auto_or(integer=False, gt=0)
NEpochs = auto_or(integer=True, ge=1, le=50)
Beta = auto_or(integer=False, gt=0, le=2)
ComputeMultiplier = auto_or(integer=False, gt=0.00001, le=10)
EvalCount = auto_or(integer=True, ge=1)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SupervisedHyperparameters(_Strict):
    batch_size: BatchSize = "auto"
    learning_rate_multiplier: LearningRateMultiplier = "auto"
    n_epochs: NEpochs = "auto"


class DpoHyperparameters(SupervisedHyperparameters):
    beta: Beta = "auto"


class ReinforcementHyperparameters(SupervisedHyperparameters):
    reasoning_effort: Literal["default", "low", "medium", "high"] = "default"
    compute_multiplier: ComputeMultiplier = "auto"
    eval_interval: EvalCount = "auto"
    eval_samples: EvalCount = "auto"


HYPERPARAMETERS = {
    "supervised": SupervisedHyperparameters,
    "dpo": DpoHyperparameters,
    "reinforcement": ReinforcementHyperparameters,
}

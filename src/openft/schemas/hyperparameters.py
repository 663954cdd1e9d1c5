"""Hyperparameters of each method: every value is "auto" or a number within its documented bounds."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeAlias

from annotated_types import GroupedMetadata
from pydantic import BaseModel, ConfigDict, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError


@dataclass(frozen=True, kw_only=True)
class AutoOr(GroupedMetadata):
    """Field metadata: the string "auto" or a number in range; errors name the bounds.

    Pydantic unpacks it into its validator and JSON schema, so ``Annotated[Any, AutoOr(...)]``
    is a plain type alias.
    """

    integer: bool
    gt: float | None = None
    ge: float | None = None
    le: float | None = None

    def __iter__(self) -> Iterator[object]:
        number = {"type": "integer" if self.integer else "number"}
        yield PlainValidator(self._check)
        yield WithJsonSchema({"anyOf": [{"const": "auto"}, number]})

    def _expected(self) -> str:
        kind = "an integer" if self.integer else "a number"
        parts = []
        if self.gt is not None:
            parts.append(f"greater than {self.gt}")
        if self.ge is not None:
            parts.append(f"at least {self.ge}")
        if self.le is not None:
            parts.append(f"at most {self.le}")
        return f"'auto' or {kind}" + (" " + " and ".join(parts) if parts else "")

    def _check(self, value: Any) -> Any:
        if value == "auto":
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self._error("invalid_type", value)
        if self.integer and not float(value).is_integer():
            raise self._error("invalid_type", value)
        out_of_range = (
            (self.gt is not None and value <= self.gt)
            or (self.ge is not None and value < self.ge)
            or (self.le is not None and value > self.le)
        )
        if out_of_range:
            raise self._error("invalid_value", value)
        return int(value) if self.integer else value

    def _error(self, kind: str, value: Any) -> PydanticCustomError:
        return PydanticCustomError(
            kind, "expected {expected}, but got {got}", {"expected": self._expected(), "got": repr(value)}
        )


BatchSize: TypeAlias = Annotated[Any, AutoOr(integer=True, ge=1, le=256)]
LearningRateMultiplier: TypeAlias = Annotated[Any, AutoOr(integer=False, gt=0)]
NEpochs: TypeAlias = Annotated[Any, AutoOr(integer=True, ge=1, le=50)]
Beta: TypeAlias = Annotated[Any, AutoOr(integer=False, gt=0, le=2)]
ComputeMultiplier: TypeAlias = Annotated[Any, AutoOr(integer=False, gt=0.00001, le=10)]
EvalCount: TypeAlias = Annotated[Any, AutoOr(integer=True, ge=1)]


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

"""Grader wire models: string_check, text_similarity, python, score_model, label_model, multi.

`Grader` is any of the six (the /fine_tuning/alpha/graders endpoints), `FineTuningGrader`
the five allowed as a reinforcement job's grader (label_model only inside multi).
`model_dump(exclude_none=True)` echoes what the client sent, except that a multi grader's
single-grader `graders` is normalised to a one-entry map.

The unions dispatch on `type` themselves so that an error's `loc` is the path the client
wrote, e.g. ("graders", "email", "operation"), without pydantic's union-tag segment.
"""

from __future__ import annotations

import ast
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WrapValidator,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from openft.schemas.formula import FormulaError, parse_formula
from openft.schemas.template import TemplateError, check_template

__all__ = [
    "FineTuningGrader",
    "Grader",
    "LabelModelGrader",
    "MultiGrader",
    "PythonGrader",
    "SamplingParams",
    "ScoreModelGrader",
    "StringCheckGrader",
    "SubGrader",
    "TextSimilarityGrader",
    "parse_grader",
]

MAX_PYTHON_SOURCE_BYTES = 256 * 1024
DEFAULT_MULTI_NAME = "multi"


def _template(text: str) -> str:
    try:
        check_template(text)
    except TemplateError as exc:
        raise PydanticCustomError("invalid_template", str(exc)) from None
    return text


def _number(value: Any, handler: Any) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PydanticCustomError("number_type", "must be a number")
    if not math.isfinite(value):
        raise PydanticCustomError("finite_number", "must be a finite number")
    return value


TemplateStr = Annotated[str, AfterValidator(_template)]
Number = Annotated[StrictInt | float, WrapValidator(_number)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _dispatch(choices: dict[str, type[BaseModel]], refused: dict[str, str]) -> WrapValidator:
    """A wrap validator that validates a dict with the model its `type` names."""

    def validate(value: Any, handler: Any) -> Any:
        if not isinstance(value, dict):
            return handler(value)
        tag = value.get("type")
        if isinstance(tag, str) and tag in choices:
            return choices[tag].model_validate(value)
        if "type" not in value:
            raise _type_error("missing", value)
        if isinstance(tag, str) and tag in refused:
            raise _type_error(PydanticCustomError("type_not_allowed", refused[tag]), tag)
        expected = ", ".join(choices)
        raise _type_error(PydanticCustomError("invalid_type", f"must be one of: {expected}"), tag)

    return WrapValidator(validate)


def _type_error(kind: Any, value: Any) -> ValidationError:
    """An error located at the object's `type` field (re-raised with the outer location)."""
    detail: InitErrorDetails = {"type": kind, "loc": ("type",), "input": value}
    return ValidationError.from_exception_data("type", [detail])


# ----- message content (EvalItem) -----


class CacheBreakpoint(_Model):
    mode: Literal["explicit"]


class InputText(_Model):
    type: Literal["input_text"]
    text: TemplateStr
    prompt_cache_breakpoint: CacheBreakpoint | None = None


class OutputText(_Model):
    type: Literal["output_text"]
    text: TemplateStr


class InputImage(_Model):
    type: Literal["input_image"]
    image_url: TemplateStr
    detail: Literal["auto", "low", "high"] | None = None
    file_id: str | None = None


class AudioData(_Model):
    data: TemplateStr
    format: Literal["mp3", "wav"]


class InputAudio(_Model):
    type: Literal["input_audio"]
    input_audio: AudioData


_PARTS = {
    "input_text": InputText,
    "output_text": OutputText,
    "input_image": InputImage,
    "input_audio": InputAudio,
}
ContentPart = Annotated[
    InputText | OutputText | InputImage | InputAudio, Field(discriminator="type"), _dispatch(_PARTS, {})
]
_TEXT = TypeAdapter(TemplateStr)
_PART = TypeAdapter(ContentPart)


def _content_item(value: Any, handler: Any) -> Any:
    if isinstance(value, str):
        return _TEXT.validate_python(value)
    if isinstance(value, dict):
        return _PART.validate_python(value)
    raise PydanticCustomError("content_type", "must be a string or a content part")


ContentItem = Annotated[str | ContentPart, WrapValidator(_content_item)]
_ITEMS = TypeAdapter(list[ContentItem])


def _content(value: Any, handler: Any) -> Any:
    if isinstance(value, list):
        return _ITEMS.validate_python(value)
    if isinstance(value, (str, dict)):
        return _content_item(value, handler)
    raise PydanticCustomError("content_type", "must be a string, a content part or a list of them")


Content = Annotated[str | ContentPart | list[ContentItem], WrapValidator(_content)]


class Message(_Model):
    role: Literal["user", "assistant", "system", "developer"]
    content: Content
    type: Literal["message"] | None = None


# ----- graders -----


class _Grader(_Model):
    """What every grader accepts: OpenAI's guides put a `pass_threshold` on graders (echoed back;
    RFT metrics report the share of samples scoring at or above it)."""

    pass_threshold: Number | None = None


class StringCheckGrader(_Grader):
    type: Literal["string_check"]
    name: str
    input: TemplateStr
    reference: TemplateStr
    operation: Literal["eq", "ne", "like", "ilike"]


class TextSimilarityGrader(_Grader):
    type: Literal["text_similarity"]
    name: str
    input: TemplateStr
    reference: TemplateStr
    evaluation_metric: Literal[
        "cosine",
        "fuzzy_match",
        "bleu",
        "gleu",
        "meteor",
        "rouge_1",
        "rouge_2",
        "rouge_3",
        "rouge_4",
        "rouge_5",
        "rouge_l",
    ]


class PythonGrader(_Grader):
    type: Literal["python"]
    name: str
    source: str
    image_tag: str | None = None

    @field_validator("source")
    @classmethod
    def _defines_grade(cls, source: str) -> str:
        if len(source.encode("utf-8", "surrogatepass")) >= MAX_PYTHON_SOURCE_BYTES:
            raise PydanticCustomError("source_too_large", "must be smaller than 256 kB")
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            problem = f"{exc.msg} (line {exc.lineno})"
            raise PydanticCustomError("invalid_python", f"is not valid python: {problem}") from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise PydanticCustomError("invalid_python", f"is not valid python: {exc}") from None
        if not _has_grade(tree):
            raise PydanticCustomError(
                "missing_grade_function",
                "must define a function grade(sample, item) taking exactly two arguments",
            )
        return source


def _has_grade(tree: ast.Module) -> bool:
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "grade"]
    if not defs:
        return False
    args = defs[-1].args
    positional = len(args.posonlyargs) + len(args.args)
    kw_required = any(default is None for default in args.kw_defaults)
    return positional == 2 and args.vararg is None and not kw_required


class SamplingParams(_Model):
    seed: StrictInt | None = None
    top_p: Annotated[Number, Field(ge=0, le=1)] | None = None
    temperature: Annotated[Number, Field(ge=0, le=2)] | None = None
    max_completions_tokens: Annotated[StrictInt, Field(ge=1)] | None = None
    reasoning_effort: Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"] | None = None


class ScoreModelGrader(_Grader):
    type: Literal["score_model"]
    name: str
    model: Annotated[str, Field(min_length=1)]
    input: Annotated[list[Message], Field(min_length=1)]
    range: Annotated[list[Number], Field(min_length=2, max_length=2)] | None = None
    sampling_params: SamplingParams | None = None

    @field_validator("range")
    @classmethod
    def _ordered(cls, bounds: list[float] | None) -> list[float] | None:
        if bounds is not None and not bounds[0] < bounds[1]:
            raise PydanticCustomError("invalid_range", "low bound must be less than high bound")
        return bounds

    @property
    def bounds(self) -> tuple[float, float]:
        """The score range, `[0, 1]` when the client sent none."""
        low, high = self.range or (0, 1)
        return float(low), float(high)


class LabelModelGrader(_Grader):
    type: Literal["label_model"]
    name: str
    model: Annotated[str, Field(min_length=1)]
    input: Annotated[list[Message], Field(min_length=1)]
    labels: Annotated[list[str], Field(min_length=1)]
    passing_labels: Annotated[list[str], Field(min_length=1)]

    @field_validator("passing_labels")
    @classmethod
    def _subset(cls, passing: list[str], info: ValidationInfo) -> list[str]:
        labels = info.data.get("labels")
        unknown = [label for label in passing if labels is not None and label not in labels]
        if unknown:
            raise PydanticCustomError(
                "invalid_passing_labels",
                f"must be a subset of labels; not in labels: {', '.join(map(repr, unknown))}",
            )
        return passing


_SUB_GRADERS: dict[str, type[BaseModel]] = {
    "string_check": StringCheckGrader,
    "text_similarity": TextSimilarityGrader,
    "python": PythonGrader,
    "score_model": ScoreModelGrader,
    "label_model": LabelModelGrader,
}
SubGrader = Annotated[
    StringCheckGrader | TextSimilarityGrader | PythonGrader | ScoreModelGrader | LabelModelGrader,
    Field(discriminator="type"),
    _dispatch(_SUB_GRADERS, {"multi": "multi graders cannot be nested inside a multi grader"}),
]


class MultiGrader(_Grader):
    type: Literal["multi"]
    name: str = DEFAULT_MULTI_NAME  # OpenAI's RFT notebook sends none
    graders: Annotated[dict[str, SubGrader], Field(min_length=1)]
    calculate_output: str

    @field_validator("graders", mode="before")
    @classmethod
    def _single_grader(cls, value: Any) -> Any:
        """A single grader object (as in the official spec) becomes {its name: grader}."""
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            name = value.get("name")
            return {name if isinstance(name, str) and name else "grader": value}
        return value

    @field_validator("calculate_output")
    @classmethod
    def _formula(cls, text: str, info: ValidationInfo) -> str:
        try:
            formula = parse_formula(text)
        except FormulaError as exc:
            raise PydanticCustomError("invalid_formula", str(exc)) from None
        graders = info.data.get("graders")
        if graders is None:  # the graders did not validate: their own error says why
            return text
        unknown = sorted(formula.variables - set(graders))
        if unknown:
            noun = "variable" if len(unknown) == 1 else "variables"
            names = ", ".join(map(repr, unknown))
            known = ", ".join(graders)
            raise PydanticCustomError("unknown_variable", f"unknown {noun} {names} (known: {known})")
        return text


_GRADERS: dict[str, type[BaseModel]] = {**_SUB_GRADERS, "multi": MultiGrader}
_FINE_TUNING = {tag: model for tag, model in _GRADERS.items() if tag != "label_model"}

Grader = Annotated[
    StringCheckGrader
    | TextSimilarityGrader
    | PythonGrader
    | ScoreModelGrader
    | LabelModelGrader
    | MultiGrader,
    Field(discriminator="type"),
    _dispatch(_GRADERS, {}),
]
FineTuningGrader = Annotated[
    StringCheckGrader | TextSimilarityGrader | PythonGrader | ScoreModelGrader | MultiGrader,
    Field(discriminator="type"),
    _dispatch(_FINE_TUNING, {"label_model": "label_model graders are only allowed inside a multi grader"}),
]
_ADAPTERS: dict[bool, TypeAdapter[Any]] = {True: TypeAdapter(Grader), False: TypeAdapter(FineTuningGrader)}


def parse_grader(data: Any, *, allow_label_model: bool = True) -> BaseModel:
    """Validate a grader object; raises pydantic.ValidationError with client-side locs."""
    return _ADAPTERS[allow_label_model].validate_python(data)

"""Legacy completions on the wire: the request and the Completion object (streamed in the same shape).

``user`` is accepted and ignored; ``suffix`` (insertion) is refused unless null, and ``best_of``
only when it differs from ``n`` (no server-side ranking of candidates).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from openft.schemas.chat import Penalty, Stop, StreamOptions, Usage


def _prompt(value: Any) -> Any:
    """A string, strings, token ids, or arrays of token ids; checked up front so errors name ``prompt``."""

    def ids(item: Any) -> bool:
        return (
            isinstance(item, list)
            and bool(item)
            and all(isinstance(t, int) and not isinstance(t, bool) for t in item)
        )

    if isinstance(value, str) or ids(value):
        return value
    if (
        isinstance(value, list)
        and value
        and (all(isinstance(p, str) for p in value) or all(ids(p) for p in value))
    ):
        return value
    raise PydanticCustomError(
        "invalid_type",
        "expected a string, an array of strings, an array of token ids or an array of token-id arrays",
    )


Prompt = Annotated[str | list[str] | list[int] | list[list[int]], BeforeValidator(_prompt)]


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    prompt: Prompt
    max_tokens: Annotated[int, Field(ge=0)] | None = 16
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    best_of: Annotated[int, Field(ge=1, le=20)] | None = None
    stop: Stop | None = None
    seed: int | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    presence_penalty: Penalty | None = None
    frequency_penalty: Penalty | None = None
    logit_bias: dict[str, Annotated[float, Field(ge=-100, le=100)]] | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    echo: bool | None = None
    suffix: str | None = None
    user: str | None = None


class CompletionLogprobs(BaseModel):
    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: CompletionLogprobs | None = None
    finish_reason: Literal["stop", "length"] | None  # null in streamed chunks until the choice ends


class Completion(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    system_fingerprint: str
    usage: Usage | None = None

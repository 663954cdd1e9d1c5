"""How model graders reach a model: the `ModelClient` protocol and its external implementation.

`complete(model, messages, json_schema=..., sampling=...)` answers one chat with structured
output and reports the tokens used. Two implementations: `OpenAIEndpoint` (here) calls an
external OpenAI-compatible endpoint with the `openai` SDK (`OPENFT_GRADER_API_BASE` /
`OPENFT_GRADER_API_KEY`); `EngineModelClient` (`openft.serve.grader_client`) uses the server's own engine.
Failures raise `ModelServerError`, which graders report as `model_grader_server_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from openft.graders.result import Usage
from openft.schemas.graders import SamplingParams

if TYPE_CHECKING:
    import openai
    from openai.types.shared_params import ResponseFormatJSONSchema

__all__ = ["Completion", "ModelClient", "ModelServerError", "OpenAIEndpoint"]

SCHEMA_NAME = "grader_result"


@dataclass(frozen=True)
class Completion:
    text: str | None
    usage: Usage
    model: str  # the model that answered (e.g. the dated snapshot of an alias)
    refusal: str | None = None
    truncated: bool = False  # stopped at the token limit


class ModelServerError(RuntimeError):
    """The grader model could not be called (unknown model, unreachable endpoint, engine error)."""


class ModelClient(Protocol):
    def complete(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        json_schema: dict[str, Any],
        sampling: SamplingParams | None,
    ) -> Completion: ...


def sampling_arguments(sampling: SamplingParams | None) -> dict[str, Any]:
    """Chat-completions arguments of a grader's `sampling_params` (unset ones left out)."""
    if sampling is None:
        return {}
    names = {
        "seed": "seed",
        "top_p": "top_p",
        "temperature": "temperature",
        "max_completions_tokens": "max_completion_tokens",
        "reasoning_effort": "reasoning_effort",
    }
    return {
        wire: getattr(sampling, field)
        for field, wire in names.items()
        if getattr(sampling, field) is not None
    }


class OpenAIEndpoint:
    """An external OpenAI-compatible `/chat/completions` (OpenAI itself, vLLM, another openft)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 300.0, max_retries: int = 2):
        self.base_url, self.api_key = base_url, api_key or "none"
        self.timeout, self.max_retries = timeout, max_retries
        self._client: openai.OpenAI | None = None

    def _sdk(self) -> openai.OpenAI:
        if self._client is None:
            import openai

            self._client = openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    def complete(self, model, messages, *, json_schema, sampling):
        import openai

        response_format: ResponseFormatJSONSchema = {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": json_schema},
        }
        try:
            reply = self._sdk().chat.completions.create(
                model=model,
                messages=messages,
                response_format=response_format,
                **sampling_arguments(sampling),
            )
        except openai.OpenAIError as exc:
            raise ModelServerError(f"{type(exc).__name__}: {exc}") from None
        if not reply.choices:
            raise ModelServerError("the grader model returned no choices")
        choice = reply.choices[0]
        return Completion(
            text=choice.message.content,
            usage=_usage(reply.usage),
            model=reply.model or model,
            refusal=getattr(choice.message, "refusal", None),
            truncated=choice.finish_reason == "length",
        )


def _usage(usage) -> Usage:
    if usage is None:
        return Usage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or 0
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_tokens=cached,
    )

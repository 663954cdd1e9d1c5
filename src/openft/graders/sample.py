"""The `sample` and `item` namespaces a grader reads, and templates rendered against them.

`sample` holds `output_text`, `output_json` (only when the output parses as JSON),
`output_tools` (the tool calls, as chat completions return them) and `choices`; `item` is the
dataset row. A placeholder naming something that does not exist is an `invalid_variable_error`,
except `sample.output_json.*` of an output that is not JSON: that is a `sample_parse_error`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from openft.graders.result import GraderFailure
from openft.schemas.template import InvalidVariableError, TemplateError, find_placeholders, render

__all__ = ["Namespaces", "sample_from_choice", "sample_from_text"]


def sample_from_text(text: str) -> dict[str, Any]:
    """The sample of a plain model output (what `/graders/run` gets as `model_sample`)."""
    message = {"role": "assistant", "content": text}
    return sample_from_choice({"index": 0, "message": message, "finish_reason": "stop"})


def sample_from_choice(choice: Mapping[str, Any]) -> dict[str, Any]:
    """The sample of one chat-completions choice (content and tool calls)."""
    message = choice.get("message") or {}
    text = message.get("content") or ""
    sample: dict[str, Any] = {
        "choices": [dict(choice)],
        "output_text": text,
        "output_tools": list(message.get("tool_calls") or []),
    }
    parsed = _json(text)
    if parsed is not _NOT_JSON:
        sample["output_json"] = parsed
    return sample


_NOT_JSON = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON


@dataclass(frozen=True)
class Namespaces:
    """A sample and an item, with template rendering that reports grader error flags."""

    sample: Mapping[str, Any]
    item: Mapping[str, Any] = field(default_factory=dict)

    @property
    def truncated(self) -> bool:
        """The sample's output stopped at the token limit."""
        choices = self.sample.get("choices") or [{}]
        return isinstance(choices[0], Mapping) and choices[0].get("finish_reason") == "length"

    def render(self, text: str, max_bytes: int | None = None) -> str:
        """Substitute every placeholder: strings as they are, other values as JSON. A result over
        `max_bytes` (UTF-8) is an `other_error`."""
        try:
            rendered = render(text, sample=self.sample, item=self.item)
        except InvalidVariableError as exc:
            raise self._failure(text, exc) from None
        except TemplateError as exc:  # the wire schema checks templates; this is defence in depth
            raise GraderFailure("invalid_variable_error", str(exc)) from None
        if max_bytes is not None and len(rendered.encode()) > max_bytes:
            size = len(rendered.encode())
            raise GraderFailure(
                "other_error", f"a rendered text is {size} bytes, over the {max_bytes}-byte limit"
            )
        return rendered

    def _failure(self, text: str, exc: InvalidVariableError) -> GraderFailure:
        if "output_json" not in self.sample:
            for placeholder in find_placeholders(text):
                if placeholder.namespace == "sample" and placeholder.path[:1] == ("output_json",):
                    return GraderFailure("sample_parse_error", "the sample's output is not valid JSON")
        return GraderFailure("invalid_variable_error", str(exc))

"""`EngineModelClient`: model graders answered by the server's own inference engine.

The grader's model name resolves like any chat request's (base models, OpenAI aliases such as
gpt-4o-mini, the project's `ft:` models and checkpoints); the structured output is a JSON-schema
grammar the engine enforces token by token. Images and audio cannot be read by these models:
such input is a server error. The engine (and with it the ML stack) loads on the first call
only. serve implements the graders' ``ModelClient`` here; graders never import serve. Free text
in the answer (the reasoning `steps`) is bounded (`bounded`): small local models otherwise repeat
themselves until the token limit and the answer never parses.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any

from openft.errors import APIError
from openft.graders.model_client import Completion, ModelServerError
from openft.graders.result import Usage
from openft.lm.grammar import Grammar
from openft.schemas.graders import SamplingParams
from openft.serve.generation import ChatPrompt, Completed, Delta, Failed, Finished, GenerationJob, Sampling

__all__ = ["EngineModelClient"]

TIMEOUT_SECONDS = 600.0
MAX_STEPS = 2  # small local models repeat reasoning steps until the token limit: bound them
MAX_TEXT = 200  # characters per free-text field of the answer


class EngineModelClient:
    """`resolve(name) -> ModelTarget` (may raise an APIError such as model_not_found),
    `engine() -> Engine`, and `shown(name)`: the model name results report (a dated snapshot)."""

    def __init__(
        self,
        resolve: Callable[[str], Any],
        engine: Callable[[], Any],
        shown: Callable[[str], str] = lambda name: name,
        *,
        timeout: float = TIMEOUT_SECONDS,
    ):
        self.resolve, self.engine, self.shown, self.timeout = resolve, engine, shown, timeout

    def complete(self, model, messages, *, json_schema, sampling):
        try:
            target = self.resolve(model)
            job = GenerationJob(
                target=target,
                prompts=[ChatPrompt([_plain(m) for m in messages])],
                sampling=_sampling(sampling),
                grammar=Grammar("json_schema", bounded(json_schema), "grader.input"),
            )
            stream = self.engine().submit(job)
        except APIError as exc:
            raise ModelServerError(exc.message) from None
        text, usage, truncated = self._collect(stream)
        return Completion(text=text, usage=usage, model=self.shown(model), truncated=truncated)

    def _collect(self, stream) -> tuple[str, Usage, bool]:
        pieces, truncated, deadline = [], False, time.monotonic() + self.timeout
        while True:
            try:
                event = stream.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                stream.cancel()
                raise ModelServerError(f"the grader model did not answer within {self.timeout:g} s") from None
            if isinstance(event, Failed):
                raise ModelServerError(getattr(event.error, "message", None) or str(event.error))
            if isinstance(event, Delta):
                pieces.append(event.text)
            elif isinstance(event, Finished):
                truncated = event.reason == "length"
            elif isinstance(event, Completed):
                usage = Usage(prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens)
                return "".join(pieces), usage, truncated


def bounded(schema: Any) -> Any:
    """The schema with every free-text string capped at MAX_TEXT characters and every array at
    MAX_STEPS items, so that a small model's answer always ends (and parses) in time."""
    if isinstance(schema, list):
        return [bounded(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: bounded(value) for key, value in schema.items()}
    if out.get("type") == "string" and "enum" not in out:
        out.setdefault("maxLength", MAX_TEXT)
    if out.get("type") == "array":
        out.setdefault("maxItems", MAX_STEPS)
    return out


def _sampling(params: SamplingParams | None):
    params = params or SamplingParams()
    return Sampling(
        max_tokens=params.max_completions_tokens,
        temperature=1.0 if params.temperature is None else float(params.temperature),
        top_p=1.0 if params.top_p is None else float(params.top_p),
        seed=params.seed,
    )


def _plain(message: dict[str, Any]) -> dict[str, str]:
    """A chat message with content parts -> the plain-text message the engine's prompts take."""
    role = "system" if message["role"] == "developer" else message["role"]
    content = message["content"]
    if isinstance(content, str):
        return {"role": role, "content": content}
    texts = []
    for part in content:
        if part.get("type") != "text":
            raise ModelServerError(f"the grader model reads text only; got a {part.get('type')} part")
        texts.append(part["text"])
    return {"role": role, "content": "".join(texts)}

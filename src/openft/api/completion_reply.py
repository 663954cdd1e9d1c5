"""CompletionReply: an engine's events -> a legacy Completion, or the chunks that stream it.

Streamed chunks have the Completion's shape with ``finish_reason`` null until a choice ends,
as OpenAI sends them (the SDK's strict types declare it non-null; non-strict clients read it
fine). ``echo`` puts the prompt's text before each choice's text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openft.api.chat_reply import FINGERPRINT
from openft.schemas.chat import Usage
from openft.schemas.completions import (
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
)
from openft.serve import generation as events


@dataclass
class TextState:
    text: list[str] = field(default_factory=list)
    length: int = 0
    tokens: list[events.TokenLogprob] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)
    finish_reason: str = "stop"


class CompletionReply:
    def __init__(self, body: CompletionRequest, *, completion_id: str, created: int):
        self.id, self.created, self.model = completion_id, created, body.model
        self.n = body.n or 1
        self.echo = bool(body.echo)
        self.want_logprobs = body.logprobs is not None
        self.include_usage = bool(body.stream_options and body.stream_options.include_usage)
        self.choices: list[TextState] = []
        self.prompts: list[str] = []
        self.usage: Usage | None = None

    def accepted(self, event: events.Accepted) -> None:
        self.prompts = event.prompt_texts
        self.choices = [TextState() for _ in range(len(self.prompts) * self.n)]
        for index in range(len(self.choices)) if self.echo else ():
            self._add(index, self.prompts[index // self.n])

    def opening(self) -> list[dict]:
        if not self.echo:
            return []
        return [self._chunk(index, self.prompts[index // self.n]) for index in range(len(self.choices))]

    def on_event(self, event) -> list[dict]:
        if isinstance(event, events.Delta):
            state = self.choices[event.index]
            offsets = [state.length] * len(event.logprobs)
            state.tokens += event.logprobs
            state.offsets += offsets
            text = self._add(event.index, event.text)
            return [self._chunk(event.index, text, logprobs=self._logprobs(event.logprobs, offsets))]
        if isinstance(event, events.Finished):
            self.choices[event.index].finish_reason = event.reason
            return [self._chunk(event.index, "", finish_reason=event.reason)]
        if isinstance(event, events.Completed):
            self.usage = Usage.of(event.prompt_tokens, event.completion_tokens)
            return [self._usage_chunk()] if self.include_usage else []
        return []

    def completion(self) -> dict:
        choices = [
            CompletionChoice(
                text="".join(state.text),
                index=index,
                finish_reason=state.finish_reason,
                logprobs=self._logprobs(state.tokens, state.offsets),
            )
            for index, state in enumerate(self.choices)
        ]
        return Completion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=FINGERPRINT,
        ).model_dump(mode="json")

    def _add(self, index: int, text: str) -> str:
        state = self.choices[index]
        state.text.append(text)
        state.length += len(text)
        return text

    def _logprobs(self, tokens: list[events.TokenLogprob], offsets: list[int]) -> CompletionLogprobs | None:
        if not self.want_logprobs:
            return None
        return CompletionLogprobs(
            tokens=[t.token for t in tokens],
            token_logprobs=[t.logprob for t in tokens],
            top_logprobs=[dict(t.top) for t in tokens],
            text_offset=offsets,
        )

    def _chunk(self, index: int, text: str, *, finish_reason=None, logprobs=None) -> dict:
        choice = CompletionChoice(text=text, index=index, finish_reason=finish_reason, logprobs=logprobs)
        return Completion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[choice],
            system_fingerprint=FINGERPRINT,
        ).model_dump(mode="json")

    def _usage_chunk(self) -> dict:
        return Completion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[],
            usage=self.usage,
            system_fingerprint=FINGERPRINT,
        ).model_dump(mode="json")

"""ChatReply: an engine's events -> a ChatCompletion, or the chunks that stream it.

Streaming follows OpenAI: a first chunk per choice with the assistant role and empty content
(none under a forced ``tool_choice``, whose output is only the call), content deltas, tool calls in
one delta when the choice ends, a last chunk per choice with its ``finish_reason`` (``tool_calls``
when the model chose to call; ``stop`` for a named function; ``length`` for a call cut short),
then (``stream_options.include_usage``) a chunk with no choices and the usage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from openft.schemas.chat import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChoiceLogprobs,
    ChunkChoice,
    ChunkDelta,
    FunctionCallOut,
    NamedToolChoice,
    TokenLogprob,
    ToolCallDelta,
    ToolCallOut,
    TopLogprob,
    Usage,
)
from openft.serve import generation as events
from openft.serve.tool_calls import ParsedCall, ToolCallText

FINGERPRINT = "fp_openft"


@dataclass
class ChoiceState:
    tool_text: ToolCallText | None
    content: list[str] = field(default_factory=list)
    logprobs: list[TokenLogprob] = field(default_factory=list)
    calls: list[ParsedCall] = field(default_factory=list)
    finish_reason: str = "stop"


class ChatReply:
    def __init__(
        self, body: ChatCompletionRequest, tools: list[dict] | None, *, completion_id: str, created: int
    ):
        self.id, self.created, self.model = completion_id, created, body.model
        self.forced_tool = isinstance(body.tool_choice, NamedToolChoice)
        self.forced = bool(tools) and (self.forced_tool or body.tool_choice == "required")
        self.choices = [ChoiceState(_tool_text(body, tools, self.forced)) for _ in range(body.n or 1)]
        self.parallel_tool_calls = body.parallel_tool_calls is not False
        self.want_logprobs = bool(body.logprobs)
        self.include_usage = bool(body.stream_options and body.stream_options.include_usage)
        self.usage: Usage | None = None

    def accepted(self, _event: events.Accepted) -> None:
        pass

    def opening(self) -> list[dict]:
        content = None if self.forced else ""  # a forced call has no content, as OpenAI streams it
        return [
            self._chunk(i, ChunkDelta(role="assistant", content=content)) for i in range(len(self.choices))
        ]

    def on_event(self, event) -> list[dict]:
        """Record an event; returns the chunks it streams as."""
        if isinstance(event, events.Delta):
            return self._delta(event)
        if isinstance(event, events.Finished):
            return self._finished(event)
        if isinstance(event, events.Completed):
            self.usage = Usage.of(event.prompt_tokens, event.completion_tokens)
            return [self._usage_chunk()] if self.include_usage else []
        return []

    def completion(self) -> dict:
        choices = [
            Choice(
                index=index,
                finish_reason=state.finish_reason,
                logprobs=self._logprobs(state.logprobs),
                message=AssistantMessage(
                    content="".join(state.content) if state.content or not state.calls else None,
                    tool_calls=[_call_out(call) for call in state.calls] or None,
                ),
            )
            for index, state in enumerate(self.choices)
        ]
        return ChatCompletion(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=choices,
            usage=self.usage,
            system_fingerprint=FINGERPRINT,
        ).model_dump(mode="json")

    def _delta(self, event: events.Delta) -> list[dict]:
        state = self.choices[event.index]
        text = state.tool_text.feed(event.text) if state.tool_text else event.text
        scores = [_token_logprob(lp) for lp in event.logprobs] if self.want_logprobs else []
        state.logprobs += scores
        if text:
            state.content.append(text)
        if not (text or scores):
            return []
        return [self._chunk(event.index, ChunkDelta(content=text), logprobs=self._logprobs(scores))]

    def _finished(self, event: events.Finished) -> list[dict]:
        state = self.choices[event.index]
        chunks = []
        if state.tool_text:
            rest, calls = state.tool_text.finish(cut=event.reason == "length")
            state.calls = calls if self.parallel_tool_calls else calls[:1]
            if rest:
                state.content.append(rest)
                chunks.append(self._chunk(event.index, ChunkDelta(content=rest)))
        if state.calls:
            deltas = [
                ToolCallDelta(index=i, **_call_out(call).model_dump()) for i, call in enumerate(state.calls)
            ]
            chunks.append(self._chunk(event.index, ChunkDelta(tool_calls=deltas)))
        called = state.calls and not self.forced_tool and event.reason == "stop"
        state.finish_reason = "tool_calls" if called else event.reason
        chunks.append(self._chunk(event.index, ChunkDelta(), finish_reason=state.finish_reason))
        return chunks

    def _logprobs(self, scores: list[TokenLogprob]) -> ChoiceLogprobs | None:
        return ChoiceLogprobs(content=scores) if self.want_logprobs else None

    def _chunk(self, index: int, delta: ChunkDelta, *, finish_reason=None, logprobs=None) -> dict:
        chunk = ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=FINGERPRINT,
            choices=[ChunkChoice(index=index, delta=delta, finish_reason=finish_reason, logprobs=logprobs)],
        ).model_dump(mode="json")
        chunk["choices"][0]["delta"] = delta.model_dump(mode="json", exclude_none=True)
        return chunk

    def _usage_chunk(self) -> dict:
        return ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            system_fingerprint=FINGERPRINT,
            choices=[],
            usage=self.usage,
        ).model_dump(mode="json")


def _tool_text(body: ChatCompletionRequest, tools: list[dict] | None, forced: bool) -> ToolCallText | None:
    """What parses a choice's calls: of the named function, or of any tool shown (none: no tools)."""
    if isinstance(body.tool_choice, NamedToolChoice) and forced:
        return ToolCallText([body.tool_choice.function.name], forced=True)
    names = [tool["function"]["name"] for tool in tools or []]
    return ToolCallText(names, forced=forced) if names else None


def _call_out(call: ParsedCall) -> ToolCallOut:
    return ToolCallOut(id=call.id, function=FunctionCallOut(name=call.name, arguments=call.arguments))


def _token_logprob(score: events.TokenLogprob) -> TokenLogprob:
    top = [
        TopLogprob(token=token, logprob=logprob, bytes=list(token.encode())) for token, logprob in score.top
    ]
    return TokenLogprob(
        token=score.token, logprob=score.logprob, bytes=list(score.token.encode()), top_logprobs=top
    )

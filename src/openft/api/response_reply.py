"""ResponseReply: an engine's events -> a Response, or the typed events that stream it.

It runs a ChatReply underneath (tool-call parsing, finish reasons, usage) and reads its output as
Responses output items: a ``message`` with one ``output_text`` part (opened at the first text), then
one ``function_call`` item per call. A stream is ``response.created``, ``response.in_progress``, the
items' ``output_item`` / ``content_part`` / ``output_text`` / ``function_call_arguments`` events, and
``response.completed`` (``response.incomplete`` when ``max_output_tokens`` cut it short), each
with its ``sequence_number``, as OpenAI sends them.
"""

from __future__ import annotations

from openft import ids
from openft.api.chat_reply import ChatReply
from openft.schemas.chat import ChatCompletionRequest
from openft.schemas.responses import (
    FunctionCallItem,
    FunctionChoice,
    OutputMessage,
    OutputText,
    Response,
    ResponseRequest,
    ResponseUsage,
)
from openft.serve import generation as events


class ResponseReply:
    named_events = True  # server-sent events carry ``event: <type>``, with no ``[DONE]``

    def __init__(
        self, body: ResponseRequest, chat: ChatCompletionRequest, tools, *, response_id: str, created: int
    ):
        self.body, self.id, self.created = body, response_id, created
        self.chat = ChatReply(chat, tools, completion_id=response_id, created=created)
        self.message_id = "msg_" + ids.random_token(24)
        self.text: list[str] | None = None  # None until the message is opened
        self.calls: list[FunctionCallItem] = []
        self.finish_reason: str | None = None
        self.sequence = 0

    def accepted(self, event: events.Accepted) -> None:
        self.chat.accepted(event)

    def opening(self) -> list[dict]:
        response = self._response("in_progress", [])
        return [
            self._event("response.created", response=response),
            self._event("response.in_progress", response=response),
        ]

    def on_event(self, event) -> list[dict]:
        chunks = self.chat.on_event(event)
        text = "".join(
            chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"]
        )
        out = self._text(text) if text else []
        if isinstance(event, events.Finished):
            out += self._finished(event.reason)
        if isinstance(event, events.Completed):
            done = self.completion()
            kind = "response.incomplete" if done["status"] == "incomplete" else "response.completed"
            out.append(self._event(kind, response=done))
        return out

    def completion(self) -> dict:
        status = "incomplete" if self.finish_reason == "length" else "completed"
        return self._response(status, self._output(status))

    def _text(self, text: str) -> list[dict]:
        out = []
        if self.text is None:
            self.text = []
            item = self._message("in_progress")
            out.append(self._event("response.output_item.added", output_index=0, item=item))
            out.append(self._event("response.content_part.added", **self._where(), part=_part("")))
        self.text.append(text)
        out.append(self._event("response.output_text.delta", **self._where(), delta=text, logprobs=[]))
        return out

    def _finished(self, reason: str) -> list[dict]:
        self.finish_reason = reason
        state = self.chat.choices[0]
        status = "incomplete" if reason == "length" else "completed"
        out = []
        if self.text is not None:
            whole = "".join(self.text)
            out.append(self._event("response.output_text.done", **self._where(), text=whole, logprobs=[]))
            out.append(self._event("response.content_part.done", **self._where(), part=_part(whole)))
            out.append(self._event("response.output_item.done", output_index=0, item=self._message(status)))
        first = 0 if self.text is None else 1
        for index, call in enumerate(state.calls, start=first):
            item = FunctionCallItem(
                id="fc_" + ids.random_token(24),
                status="in_progress",
                call_id=call.id,
                name=call.name,
                arguments="",
            )
            self.calls.append(item.model_copy(update={"status": status, "arguments": call.arguments}))
            where = {"item_id": item.id, "output_index": index}
            out.append(self._event("response.output_item.added", output_index=index, item=item.model_dump()))
            out.append(self._event("response.function_call_arguments.delta", **where, delta=call.arguments))
            out.append(
                self._event(
                    "response.function_call_arguments.done", **where, name=call.name, arguments=call.arguments
                )
            )
            out.append(
                self._event("response.output_item.done", output_index=index, item=self.calls[-1].model_dump())
            )
        return out

    def _output(self, status: str) -> list[OutputMessage | FunctionCallItem]:
        message = [] if self.text is None and self.calls else [self._message_model(status)]
        return [*message, *self.calls]

    def _message_model(self, status: str) -> OutputMessage:
        return OutputMessage(
            id=self.message_id, status=status, content=[OutputText(text="".join(self.text or []))]
        )

    def _message(self, status: str) -> dict:
        model = self._message_model(status)
        if status == "in_progress":
            model.content = []
        return model.model_dump(mode="json")

    def _where(self) -> dict:
        return {"item_id": self.message_id, "output_index": 0, "content_index": 0}

    def _event(self, kind: str, **fields) -> dict:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def _response(self, status: str, output: list) -> dict:
        body, usage = self.body, self.chat.usage
        choice = body.tool_choice
        return Response(
            id=self.id,
            created_at=self.created,
            status=status,
            completed_at=ids.now() if status == "completed" else None,
            incomplete_details={"reason": "max_output_tokens"} if status == "incomplete" else None,
            instructions=body.instructions,
            max_output_tokens=body.max_output_tokens,
            model=body.model,
            output=output,
            parallel_tool_calls=body.parallel_tool_calls is not False,
            previous_response_id=body.previous_response_id,
            store=body.store is not False,
            temperature=1.0 if body.temperature is None else body.temperature,
            text=_text_config(body),
            tool_choice=choice.model_dump() if isinstance(choice, FunctionChoice) else choice or "auto",
            tools=[tool.model_dump(exclude_none=True) | {"strict": tool.strict} for tool in body.tools or []],
            top_p=1.0 if body.top_p is None else body.top_p,
            usage=ResponseUsage(
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                total_tokens=usage.total_tokens,
            )
            if usage and status != "in_progress"
            else None,
            user=body.user,
            metadata=body.metadata or {},
        ).model_dump(mode="json")


def _part(text: str) -> dict:
    return OutputText(text=text).model_dump(mode="json")


def _text_config(body: ResponseRequest) -> dict:
    form = body.text.format if body.text else None
    shown = form.model_dump(mode="json", by_alias=True, exclude_none=True) if form else {"type": "text"}
    return {"format": shown, "verbosity": (body.text.verbosity if body.text else None) or "medium"}

"""Responses requests -> chat requests: the Responses API answers through the chat path.

``instructions`` become a system message (never carried to the next response), input items become
chat messages (``function_call`` items an assistant message's tool calls, ``function_call_output``
items tool messages), ``previous_response_id`` puts the stored conversation before them,
``text.format`` is the chat ``response_format``, function tools are chat tools and
``max_output_tokens`` is ``max_completion_tokens``. Errors name the Responses field (``input[i]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from openft import ids
from openft.errors import InvalidRequest
from openft.schemas.chat import ChatCompletionRequest
from openft.schemas.responses import FunctionChoice, InputItem, ResponseRequest

MESSAGE_ROLES = ("user", "system", "developer", "assistant")
TEXT_PARTS = ("input_text", "output_text", "text")


@dataclass
class Translation:
    chat: ChatCompletionRequest
    history: list[dict]  # the conversation so far as chat messages (no instructions)
    items: list[dict]  # this request's input items, as input_items lists them


def translate(body: ResponseRequest, previous: list[dict]) -> Translation:
    history, items = list(previous), []
    raw = [InputItem(role="user", content=body.input)] if isinstance(body.input, str) else body.input or []
    for index, item in enumerate(raw):
        items.append(_item(f"input[{index}]", item, history))
    system = [{"role": "system", "content": body.instructions}] if body.instructions else []
    if not system + history:
        raise InvalidRequest(
            "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    fields: dict[str, Any] = {
        "model": body.model,
        "messages": system + history,
        "max_completion_tokens": body.max_output_tokens,
        "temperature": body.temperature,
        "top_p": body.top_p,
        "parallel_tool_calls": body.parallel_tool_calls,
        "tools": [_tool(tool) for tool in body.tools] if body.tools else None,
        "tool_choice": _tool_choice(body.tool_choice),
        "response_format": _response_format(body),
    }
    try:
        chat = ChatCompletionRequest.model_validate({k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        raise InvalidRequest(f"Invalid request: {exc.errors()[0]['msg']}.", param="input") from None
    return Translation(chat=chat, history=history, items=items)


def _item(where: str, item: InputItem, history: list[dict]) -> dict:
    """Append ``item``'s chat message(s) to ``history``; returns the item as it is stored."""
    if item.type == "message":
        return _message_item(where, item, history)
    if item.type == "function_call":
        call_id, name = _required(where, "call_id", item.call_id), _required(where, "name", item.name)
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": item.arguments or ""},
        }
        if history and history[-1]["role"] == "assistant":
            history[-1].setdefault("tool_calls", []).append(call)
        else:
            history.append({"role": "assistant", "content": None, "tool_calls": [call]})
        return {
            "id": item.id or "fc_" + ids.random_token(24),
            "type": "function_call",
            "status": "completed",
            "call_id": call_id,
            "name": name,
            "arguments": item.arguments or "",
        }
    if item.type == "function_call_output":
        call_id = _required(where, "call_id", item.call_id)
        output = _text(f"{where}.output", _required(where, "output", item.output))
        history.append({"role": "tool", "tool_call_id": call_id, "content": output})
        return {
            "id": item.id or "fco_" + ids.random_token(24),
            "type": "function_call_output",
            "status": "completed",
            "call_id": call_id,
            "output": output,
        }
    raise InvalidRequest(
        f"Invalid '{where}.type': '{item.type}' items are not supported by this server (text messages and "
        "function calls only).",
        param=f"{where}.type",
        code="unsupported_value",
    )


def _message_item(where: str, item: InputItem, history: list[dict]) -> dict:
    if item.role not in MESSAGE_ROLES:
        raise InvalidRequest(
            f"Invalid value for '{where}.role': expected one of {', '.join(MESSAGE_ROLES)}.",
            param=f"{where}.role",
            code="invalid_value",
        )
    text = _text(f"{where}.content", _required(where, "content", item.content))
    history.append({"role": "system" if item.role == "developer" else item.role, "content": text})
    kind = "output_text" if item.role == "assistant" else "input_text"
    part: dict[str, Any] = {"type": kind, "text": text} | (
        {"annotations": []} if kind == "output_text" else {}
    )
    return {
        "id": item.id or "msg_" + ids.random_token(24),
        "type": "message",
        "role": item.role,
        "status": "completed",
        "content": [part],
    }


def _required(where: str, key: str, value):
    if value is None:
        raise InvalidRequest(
            f"Missing required parameter: '{where}.{key}'.",
            param=f"{where}.{key}",
            code="missing_required_parameter",
        )
    return value


def _text(where: str, content: str | list[dict]) -> str:
    if isinstance(content, str):
        return content
    texts = []
    for number, part in enumerate(content):
        kind = part.get("type")
        text = part.get("refusal") if kind == "refusal" else part.get("text") if kind in TEXT_PARTS else None
        if not isinstance(text, str):
            raise InvalidRequest(
                f"Invalid content part '{kind}' in '{where}[{number}]': this model reads text only.",
                param=f"{where}[{number}].type",
                code="unsupported_content",
            )
        texts.append(text)
    return "".join(texts)


def _tool(tool) -> dict:
    function = tool.model_dump(exclude_none=True, exclude={"type"})
    return {"type": "function", "function": function}


def _tool_choice(choice) -> str | dict | None:
    if isinstance(choice, FunctionChoice):
        return {"type": "function", "function": {"name": choice.name}}
    return choice


def _response_format(body: ResponseRequest) -> dict | None:
    form = body.text.format if body.text else None
    if form is None or form.type == "text":
        return None
    if form.type == "json_object":
        return {"type": "json_object"}
    if form.name is None:
        raise InvalidRequest(
            "Missing required parameter: 'text.format.name'.",
            param="text.format.name",
            code="missing_required_parameter",
        )
    schema = {
        "name": form.name,
        "schema": form.schema_,
        "description": form.description,
        "strict": form.strict,
    }
    return {"type": "json_schema", "json_schema": {k: v for k, v in schema.items() if v is not None}}


def output_messages(response: dict) -> list[dict]:
    """A response's output as the chat messages that continue its conversation."""
    message: dict[str, Any] = {"role": "assistant", "content": None}
    for item in response["output"]:
        if item["type"] == "message":
            message["content"] = "".join(part["text"] for part in item["content"])
        else:
            call = {"name": item["name"], "arguments": item["arguments"]}
            message.setdefault("tool_calls", []).append(
                {"id": item["call_id"], "type": "function", "function": call}
            )
    return [message]

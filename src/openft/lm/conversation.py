"""Conversation: OpenAI chat messages rendered through a tokenizer's chat template.

Two jobs, both pure text (no torch):

- ``normalize`` turns OpenAI training messages into what chat templates expect: content-part
  arrays flattened to text (``weight`` kept, ``render`` leaves it out), deprecated
  ``function_call`` / ``function`` turned into ``tool_calls`` / ``tool``. A template that knows
  no tools (SmolLM2's) gets the tools written into the system message and each tool call written
  as a ``<tool_call>`` JSON block in the assistant's content, the format SmolLM2 was
  instruction-tuned with.
- ``assistant_spans`` renders the conversation prefix by prefix and returns, for each
  assistant message, the character span of its answer (after the generation prompt, up to and
  including the end-of-turn token), since templates without ``{% generation %}`` markers cannot
  say which tokens are the assistant's.
"""

import contextlib
import json

TOOLS_PROMPT = (
    "You may call one or more functions to assist with the user query. You are provided with "
    "function signatures within <tools></tools> XML tags:\n<tools>\n{tools}\n</tools>\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n</tool_call>'
)
MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id", "weight")


def normalize(messages: list[dict], tools: list | None, template: str) -> tuple[list[dict], list | None]:
    """Messages and tools in the form this chat template can render (tools None when folded in)."""
    messages = [_plain_message(m) for m in messages]
    if "tool_calls" not in template:
        messages = [_tool_calls_as_text(m) for m in messages]
    if tools and "tools" not in template:
        return _tools_in_system(messages, tools), None
    return messages, tools or None


def render(tokenizer, messages: list[dict], tools: list | None, *, generation_prompt: bool = False) -> str:
    """The chat template's text for ``messages`` (with the assistant header when asked)."""
    if not messages and not generation_prompt:
        return ""
    messages = [{key: value for key, value in m.items() if key != "weight"} for m in messages]
    return tokenizer.apply_chat_template(
        messages, tools=tools, tokenize=False, add_generation_prompt=generation_prompt
    )


def assistant_spans(
    tokenizer, messages: list[dict], tools: list | None
) -> tuple[str, list[tuple[int, int, int]]]:
    """The whole rendered text, and (weight, start, end) of each assistant answer in it.

    An answer starts after the generation prompt (``<|im_start|>assistant\\n``) and ends after
    its end-of-turn token; whitespace the template writes after that token is left out.
    """
    text = render(tokenizer, messages, tools)
    spans = []
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        upto = render(tokenizer, messages[: index + 1], tools)
        header = render(tokenizer, messages[:index], tools, generation_prompt=True)
        if not text.startswith(upto):
            raise ValueError("The chat template does not render this conversation prefix by prefix")
        start = len(header) if upto.startswith(header) else len(render(tokenizer, messages[:index], tools))
        spans.append((message.get("weight", 1), start, len(upto.rstrip())))
    return text, spans


def _plain_message(message: dict) -> dict:
    message = dict(message)
    if message.get("function_call"):
        message["tool_calls"] = [{"type": "function", "function": message.pop("function_call")}]
    if message["role"] == "function":
        message["role"] = "tool"
    plain = {key: message[key] for key in MESSAGE_KEYS if message.get(key) is not None}
    plain["content"] = _text(message.get("content"))
    if "tool_calls" in plain:
        plain["tool_calls"] = [_template_tool_call(call) for call in plain["tool_calls"]]
    return plain


def _text(content) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") != "text":
            raise ValueError(f"Content of type {part.get('type')!r} is not supported by a text-only model")
        parts.append(part["text"])
    return "".join(parts)


def _template_tool_call(call: dict) -> dict:
    function = dict(call.get("function", call))
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        with contextlib.suppress(json.JSONDecodeError):  # not JSON: the template gets the text
            function["arguments"] = json.loads(arguments)
    return {**{k: v for k, v in call.items() if k != "function"}, "type": "function", "function": function}


def _tool_calls_as_text(message: dict) -> dict:
    calls = message.get("tool_calls")
    if not calls:
        return message
    blocks = [
        "<tool_call>\n"
        + json.dumps({"name": c["function"]["name"], "arguments": c["function"].get("arguments", {})})
        + "\n</tool_call>"
        for c in calls
    ]
    text = "\n".join(filter(None, [message["content"], *blocks]))
    return {k: v for k, v in message.items() if k != "tool_calls"} | {"content": text}


def _tools_in_system(messages: list[dict], tools: list) -> list[dict]:
    signatures = "\n".join(json.dumps(tool.get("function", tool)) for tool in tools)
    prompt = TOOLS_PROMPT.format(tools=signatures)
    if messages and messages[0]["role"] == "system":
        first = messages[0]
        return [{**first, "content": f"{first['content']}\n\n{prompt}"}, *messages[1:]]
    return [{"role": "system", "content": prompt}, *messages]

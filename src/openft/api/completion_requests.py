"""Generation requests: a chat or completions request -> the GenerationJob an engine runs.

Checks what the wire schema cannot, naming the field as OpenAI does: role rules per message,
non-text content, ``tool_choice`` against ``tools``, ``stream_options`` without ``stream``,
logit-bias keys. ``developer`` messages are system messages to a chat template.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypeIs

from openft.catalog import ModelTarget
from openft.errors import InvalidRequest
from openft.lm.grammar import Grammar, response_format_grammar
from openft.schemas.chat import ChatCompletionRequest, ChatMessage, NamedToolChoice
from openft.schemas.completions import CompletionRequest
from openft.serve.call_grammar import call_grammar
from openft.serve.generation import ChatPrompt, GenerationJob, Sampling, TextPrompt

NEEDS_CONTENT = ("system", "developer", "user", "tool", "function")


def chat_job(body: ChatCompletionRequest, target: ModelTarget) -> GenerationJob:
    _check_stream_options(body.stream, body.stream_options)
    if body.top_logprobs is not None and not body.logprobs:
        raise InvalidRequest("'logprobs' must be true when 'top_logprobs' is set.", param="top_logprobs")
    tools = used_tools(body)
    messages = [_message(index, message) for index, message in enumerate(body.messages)]
    logprobs = (body.top_logprobs or 0) if body.logprobs else None
    return GenerationJob(
        target=target,
        prompts=[ChatPrompt(messages, tools)],
        n=body.n or 1,
        grammar=_chat_grammar(body, tools),
        sampling=_sampling(body, body.max_completion_tokens or body.max_tokens, logprobs),
    )


def completion_job(body: CompletionRequest, target: ModelTarget) -> GenerationJob:
    _check_stream_options(body.stream, body.stream_options)
    if body.suffix:
        raise InvalidRequest(
            "'suffix' (insertion) is not supported by this server.",
            param="suffix",
            code="unsupported_parameter",
        )
    if body.best_of is not None and body.best_of != (body.n or 1):
        raise InvalidRequest(
            "'best_of' other than 'n' is not supported by this server.",
            param="best_of",
            code="unsupported_parameter",
        )
    if body.echo and body.logprobs is not None:
        raise InvalidRequest(
            "'echo' together with 'logprobs' is not supported by this server.",
            param="echo",
            code="unsupported_parameter",
        )
    prompt = body.prompt
    batch = [prompt] if isinstance(prompt, str) or _token_ids(prompt) else prompt
    prompts: list[ChatPrompt | TextPrompt] = [
        TextPrompt(text=p) if isinstance(p, str) else TextPrompt(token_ids=list(p)) for p in batch
    ]
    return GenerationJob(
        target=target,
        prompts=prompts,
        n=body.n or 1,
        sampling=_sampling(body, body.max_tokens, body.logprobs),
    )


def _token_ids(prompt: list[str] | list[int] | list[list[int]]) -> TypeIs[list[int]]:
    """One prompt of token ids, rather than a batch of prompts (the schema keeps each list uniform)."""
    return bool(prompt) and isinstance(prompt[0], int)


def used_tools(body: ChatCompletionRequest) -> list[dict] | None:
    """The tools shown to the model (none for tool_choice "none"), after checking tool_choice."""
    choice, tools = body.tool_choice, body.tools or []
    if choice is not None and not tools:
        raise InvalidRequest(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if isinstance(choice, NamedToolChoice) and choice.function.name not in {t.function.name for t in tools}:
        raise InvalidRequest(
            f"Invalid value for 'tool_choice': no function named '{choice.function.name}' in 'tools'.",
            param="tool_choice",
        )
    if not tools or choice == "none":
        return None
    return [tool.model_dump(exclude_none=True) for tool in tools]


def _chat_grammar(body: ChatCompletionRequest, tools: list[dict] | None) -> Grammar | None:
    choice = body.tool_choice
    if tools and (choice == "required" or isinstance(choice, NamedToolChoice)):
        name = choice.function.name if isinstance(choice, NamedToolChoice) else None
        return Grammar("lark", call_grammar(tools, name), "tools")
    response_format = body.response_format
    if response_format is None:
        return None
    return response_format_grammar(response_format.model_dump(mode="json", by_alias=True))


def _message(index: int, message: ChatMessage) -> dict:
    where = f"messages[{index}]"
    if message.role in NEEDS_CONTENT and message.content is None:
        raise InvalidRequest(
            f"Missing required parameter: '{where}.content'.",
            param=f"{where}.content",
            code="missing_required_parameter",
        )
    if message.role == "tool" and not message.tool_call_id:
        raise InvalidRequest(
            f"Missing required parameter: '{where}.tool_call_id'.",
            param=f"{where}.tool_call_id",
            code="missing_required_parameter",
        )
    if message.role != "assistant" and (message.tool_calls or message.function_call):
        raise InvalidRequest(
            f"Invalid '{where}': only assistant messages may have tool calls.", param=f"{where}.tool_calls"
        )
    plain: dict[str, Any] = {
        "role": "system" if message.role == "developer" else message.role,
        "content": _text(where, message.content),
    }
    for key in ("name", "tool_call_id"):
        if getattr(message, key) is not None:
            plain[key] = getattr(message, key)
    if message.tool_calls:
        plain["tool_calls"] = [call.model_dump() for call in message.tool_calls]
    if message.function_call:
        plain["function_call"] = message.function_call.model_dump()
    return plain


def _text(where: str, content) -> str | None:
    if content is None or isinstance(content, str):
        return content
    parts = []
    for number, part in enumerate(content):
        if (
            part.type not in ("text", "refusal")
            or (part.text if part.type == "text" else part.refusal) is None
        ):
            raise InvalidRequest(
                f"Invalid content part '{part.type}' in '{where}.content[{number}]': "
                "this model reads text only.",
                param=f"{where}.content[{number}].type",
                code="unsupported_content",
            )
        parts.append(part.text if part.type == "text" else part.refusal)
    return "".join(parts)


def _sampling(body, max_tokens: int | None, logprobs: int | None) -> Sampling:
    stop = body.stop
    return Sampling(
        max_tokens=max_tokens,
        temperature=1.0 if body.temperature is None else body.temperature,
        top_p=1.0 if body.top_p is None else body.top_p,
        seed=body.seed,
        stop=tuple([stop] if isinstance(stop, str) else stop or ()),
        presence_penalty=body.presence_penalty or 0.0,
        frequency_penalty=body.frequency_penalty or 0.0,
        logit_bias=_logit_bias(body.logit_bias),
        logprobs=logprobs,
    )


def _logit_bias(bias: dict[str, float] | None) -> dict[int, float]:
    out = {}
    for key, value in (bias or {}).items():
        if not key.isdigit():
            raise InvalidRequest(
                f"Invalid key in 'logit_bias': {key!r} is not a token id.", param="logit_bias"
            )
        out[int(key)] = float(value)
    return out


def _check_stream_options(stream: bool | None, options) -> None:
    if options is not None and not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options"
        )

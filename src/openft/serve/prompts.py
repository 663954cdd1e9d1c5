"""Prompts: a job's prompts as token ids, through the model's own chat template or tokenizer.

Chat messages are rendered exactly as training renders them (``train.conversation``): tools
folded into the system message for templates that know none, tool calls written as
``<tool_call>`` blocks, then the assistant header. Raw prompts are tokenized as prompt/completion
training data is, with the tokenizer's special tokens; an empty prompt starts from the
beginning-of-text token, as OpenAI's default ``<|endoftext|>`` prompt does.
"""

from __future__ import annotations

from jinja2 import TemplateError

from openft.errors import InvalidRequest
from openft.lm import conversation
from openft.serve.generation import ChatPrompt, TextPrompt


def prompt_ids(tokenizer, prompt: ChatPrompt | TextPrompt, vocab_size: int) -> list[int]:
    if isinstance(prompt, ChatPrompt):
        return tokenizer(chat_text(tokenizer, prompt), add_special_tokens=False)["input_ids"]
    if prompt.token_ids is not None:
        if any(not 0 <= token < vocab_size for token in prompt.token_ids):
            raise InvalidRequest(
                f"Invalid 'prompt': token ids must be between 0 and {vocab_size - 1}.", param="prompt"
            )
        return list(prompt.token_ids)
    ids = tokenizer(prompt.text, add_special_tokens=True)["input_ids"]
    return ids or [_start_token(tokenizer)]


def chat_text(tokenizer, prompt: ChatPrompt) -> str:
    """The chat template's text for the messages, ending with the assistant's header."""
    template = tokenizer.chat_template
    if not template:
        raise InvalidRequest(
            "This model has no chat template; use /v1/completions with a plain prompt.",
            param="model",
            code="model_not_chat",
        )
    try:
        messages, tools = conversation.normalize(prompt.messages, prompt.tools, template)
        return conversation.render(tokenizer, messages, tools, generation_prompt=True)
    except (TemplateError, ValueError, TypeError, KeyError) as exc:
        raise InvalidRequest(
            f"The messages could not be rendered with this model's chat template: {exc}", param="messages"
        ) from exc


def prompt_text(tokenizer, prompt: ChatPrompt | TextPrompt, ids: list[int]) -> str:
    if isinstance(prompt, TextPrompt) and prompt.text is not None:
        return prompt.text
    return tokenizer.decode(ids, skip_special_tokens=False)


def _start_token(tokenizer) -> int:
    for token in (tokenizer.bos_token_id, tokenizer.eos_token_id):
        if token is not None:
            return token
    raise InvalidRequest("Invalid 'prompt': the prompt is empty.", param="prompt")

"""Data: validated JSONL rows (read by ``datasets.jsonl``) turned into tokenized training examples.

Each example is ``{"input_ids", "attention_mask", "labels"}`` with labels -100 wherever no loss
is taken. Chat rows train on assistant answers only (end-of-turn token included, so the tuned
model learns to stop), minus those with ``weight: 0``; prompt/completion rows train on the
completion plus an end-of-sequence token. Examples longer than ``max_length`` are truncated
from the end, as OpenAI does, and counted. No torch here.
"""

from dataclasses import dataclass

from openft.lm import conversation

IGNORE_INDEX = -100


@dataclass
class TokenizedData:
    examples: list[dict]
    n_truncated: int
    n_tokens: int  # tokens the model reads in one epoch of these examples


def tokenize_rows(rows: list[dict], tokenizer, *, fmt: str, max_length: int) -> TokenizedData:
    """Tokenize every row in format ``fmt`` ("chat" or "completion"), truncating to ``max_length``."""
    tokenize = {"chat": tokenize_chat, "completion": tokenize_completion}[fmt]
    examples = [tokenize(row, tokenizer) for row in rows]
    n_truncated = sum(len(example["input_ids"]) > max_length for example in examples)
    examples = [truncate(example, max_length) for example in examples]
    return TokenizedData(examples, n_truncated, count_tokens(examples))


def tokenize_chat(row: dict, tokenizer) -> dict:
    """One chat example: labels on the assistant answers whose weight is not 0."""
    template = tokenizer.chat_template or ""
    messages, tools = conversation.normalize(row["messages"], row.get("tools"), template)
    text, spans = conversation.assistant_spans(tokenizer, messages, tools)
    trained = [(start, end) for weight, start, end in spans if weight != 0]
    encoding = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    labels = [
        token if _inside(offset, trained) else IGNORE_INDEX
        for token, offset in zip(encoding["input_ids"], encoding["offset_mapping"])
    ]
    return _example(encoding["input_ids"], labels)


def tokenize_completion(row: dict, tokenizer) -> dict:
    """One prompt/completion example: labels on the completion and the eos token only."""
    prompt = tokenizer(row["prompt"], add_special_tokens=True)["input_ids"]
    completion = tokenizer(row["completion"], add_special_tokens=False)["input_ids"]
    completion = [*completion, tokenizer.eos_token_id]
    return _example(prompt + completion, [IGNORE_INDEX] * len(prompt) + completion)


def truncate(example: dict, max_length: int) -> dict:
    """The example cut to its first ``max_length`` tokens."""
    return {key: values[:max_length] for key, values in example.items()}


def count_tokens(examples: list[dict]) -> int:
    """Tokens in the examples (what one epoch trains on; OpenAI bills this times n_epochs)."""
    return sum(len(example["input_ids"]) for example in examples)


def _inside(offset: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    start, end = offset
    return end > start and any(lo <= start < hi for lo, hi in spans)


def _example(input_ids: list[int], labels: list[int]) -> dict:
    return {"input_ids": list(input_ids), "attention_mask": [1] * len(input_ids), "labels": list(labels)}

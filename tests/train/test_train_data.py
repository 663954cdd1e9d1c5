"""Tokenized training examples: which tokens carry labels, truncation, token counts, padding."""

import pytest

pytest.importorskip("trl")

from openft.train.collator import Collator
from openft.train.data import IGNORE_INDEX, count_tokens, tokenize_chat, tokenize_rows

pytestmark = pytest.mark.train

MARV = {
    "messages": [
        {"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."},
        {"role": "user", "content": "What's the capital of France?"},
        {"role": "assistant", "content": "Paris", "weight": 0},
        {"role": "user", "content": "Can you be more sarcastic?"},
        {"role": "assistant", "content": "Paris, as if everyone doesn't know that already.", "weight": 1},
    ]
}


def trained_text(tokenizer, example) -> str:
    return tokenizer.decode(
        [t for t, label in zip(example["input_ids"], example["labels"]) if label != IGNORE_INDEX]
    )


def test_chat_labels_only_weighted_assistant_answers_with_their_end_of_turn(tokenizer):
    example = tokenize_chat(MARV, tokenizer)
    assert trained_text(tokenizer, example) == "Paris, as if everyone doesn't know that already.<|im_end|>"
    assert example["labels"][-2] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert example["labels"][-1] == IGNORE_INDEX  # the newline the template writes after it
    assert len(example["input_ids"]) == len(example["labels"]) == len(example["attention_mask"])


def test_every_assistant_turn_is_trained_by_default(tokenizer):
    rows = {"messages": [{**m, "weight": 1} if m["role"] == "assistant" else m for m in MARV["messages"]]}
    text = trained_text(tokenizer, tokenize_chat(rows, tokenizer))
    assert text == "Paris<|im_end|>Paris, as if everyone doesn't know that already.<|im_end|>"


def test_content_part_arrays_are_flattened(tokenizer):
    row = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Say "}, {"type": "text", "text": "hi"}]},
            {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
        ]
    }
    example = tokenize_chat(row, tokenizer)
    assert "Say hi" in tokenizer.decode(example["input_ids"])
    assert trained_text(tokenizer, example) == "hi<|im_end|>"


def test_tool_calls_and_tools_are_rendered_and_the_call_is_trained(tokenizer, tool_call_row):
    example = tokenize_chat(tool_call_row, tokenizer)
    text = tokenizer.decode(example["input_ids"])
    assert "<tools>" in text and '"get_current_weather"' in text
    trained = trained_text(tokenizer, example)
    assert trained.startswith('<tool_call>\n{"name": "get_current_weather"')
    assert '"arguments": {"location": "San Francisco, USA", "format": "celsius"}' in trained
    assert trained.endswith("</tool_call><|im_end|>It is 21 degrees.<|im_end|>")
    assert "21.0" not in trained  # the tool's result is input, not output


def test_a_template_that_knows_tools_gets_them_as_is(tokenizer, tool_call_row):
    template = (
        "{% if tools %}TOOLS:"
        "{{ tools | map(attribute='function') | map(attribute='name') | join(',') }}\n{% endif %}"
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{% if m.tool_calls %}"
        "{% for c in m.tool_calls %}"
        "CALL {{ c.function.name }} {{ c.function.arguments | tojson }}{% endfor %}"
        "{% else %}{{ m.content }}{% endif %}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    original = tokenizer.chat_template
    tokenizer.chat_template = template
    try:
        example = tokenize_chat(tool_call_row, tokenizer)
    finally:
        tokenizer.chat_template = original
    assert tokenizer.decode(example["input_ids"]).startswith("TOOLS:get_current_weather\n")
    assert trained_text(tokenizer, example).startswith(
        'CALL get_current_weather {"location": "San Francisco, USA"'
    )


def test_completion_format_trains_on_the_completion_and_eos(tokenizer):
    data = tokenize_rows([{"prompt": "2+2=", "completion": " 4"}], tokenizer, fmt="completion", max_length=64)
    example = data.examples[0]
    assert trained_text(tokenizer, example) == " 4" + tokenizer.eos_token
    assert tokenizer.decode(example["input_ids"]) == "2+2= 4" + tokenizer.eos_token
    assert example["labels"][: len(tokenizer("2+2=")["input_ids"])] == [IGNORE_INDEX] * 4


def test_long_examples_are_truncated_from_the_end_and_counted(tokenizer):
    rows = [MARV, {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}]
    full = tokenize_rows(rows, tokenizer, fmt="chat", max_length=10_000)
    cut = tokenize_rows(rows, tokenizer, fmt="chat", max_length=40)
    assert (full.n_truncated, cut.n_truncated) == (0, 1)
    assert cut.examples[0]["input_ids"] == full.examples[0]["input_ids"][:40]
    assert cut.examples[1] == full.examples[1]
    assert cut.n_tokens == count_tokens(cut.examples) == 40 + len(full.examples[1]["input_ids"])


def test_collator_pads_with_pad_token_and_keeps_end_of_turn_labels(tokenizer, tool_call_row):
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    examples = [tokenize_chat(MARV, tokenizer), tokenize_chat(tool_call_row, tokenizer)]
    batch = Collator(pad_token_id=0)(examples)
    short = min(range(2), key=lambda i: len(examples[i]["input_ids"]))
    length = len(examples[short]["input_ids"])
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert set(batch["input_ids"][short, length:].tolist()) == {0}
    assert set(batch["labels"][short, length:].tolist()) == {IGNORE_INDEX}
    assert batch["attention_mask"][short].sum().item() == length
    for row in range(2):
        assert (
            (batch["labels"][row] == im_end).sum().item()
            == sum(1 for label in examples[row]["labels"] if label == im_end)
            > 0
        )

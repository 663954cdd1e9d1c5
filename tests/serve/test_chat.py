"""/v1/chat/completions on the tiny model through the strict SDK: the object, exact usage,
token limits, n, seeds, temperature 0, stop sequences, penalties, logit bias and logprobs."""

from __future__ import annotations

import pytest

from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]


def greedy(sdk, model=MODELS.base, max_tokens=8, **extra):
    return sdk.chat.completions.create(
        model=model, messages=HELLO, max_tokens=max_tokens, temperature=0, **extra
    )


def test_a_completion_has_openais_shape_and_exact_usage(sdk, tokenizer):
    reply = greedy(sdk, max_tokens=5)
    assert (
        reply.id.startswith("chatcmpl-") and reply.object == "chat.completion" and reply.model == MODELS.base
    )
    [choice] = reply.choices
    assert (choice.index, choice.finish_reason, choice.message.role) == (0, "length", "assistant")
    assert choice.message.content and choice.message.tool_calls is None
    raw = sdk.chat.completions.with_raw_response.create(
        model=MODELS.base, messages=HELLO, max_tokens=2, temperature=0
    ).http_response.json()
    assert set(raw["choices"][0]["message"]) == {
        "role",
        "content",
        "refusal",
        "annotations",
    }  # as OpenAI writes a text answer
    assert (
        raw["choices"][0]["message"]["annotations"] == [] and raw["choices"][0]["message"]["refusal"] is None
    )
    prompt = tokenizer.apply_chat_template(HELLO, add_generation_prompt=True, tokenize=True)["input_ids"]
    assert reply.usage.prompt_tokens == len(prompt)
    assert reply.usage.completion_tokens == 5
    assert reply.usage.total_tokens == len(prompt) + 5


def test_aliases_resolve_to_their_base_model(sdk):
    assert (
        greedy(sdk, model=MODELS.alias).choices[0].message.content == greedy(sdk).choices[0].message.content
    )
    assert greedy(sdk, model=MODELS.alias).model == MODELS.alias


def test_max_completion_tokens_and_max_tokens(sdk):
    short = sdk.chat.completions.create(
        model=MODELS.base, messages=HELLO, max_completion_tokens=3, temperature=0
    )
    assert short.usage.completion_tokens == 3 and short.choices[0].finish_reason == "length"
    assert greedy(sdk, max_tokens=7).usage.completion_tokens == 7


def test_temperature_zero_is_deterministic_and_seeds_reproduce(sdk):
    assert greedy(sdk).choices[0].message.content == greedy(sdk).choices[0].message.content

    def sampled(seed):
        reply = sdk.chat.completions.create(
            model=MODELS.base, messages=HELLO, max_tokens=12, n=3, seed=seed, temperature=1.0
        )
        return [choice.message.content for choice in reply.choices]

    first = sampled(42)
    assert sampled(42) == first
    assert sampled(43) != first
    assert len(set(first)) == 3  # each choice draws its own tokens


def test_n_choices_are_indexed_and_counted(sdk):
    reply = sdk.chat.completions.create(model=MODELS.base, messages=HELLO, max_tokens=4, n=4, seed=1)
    assert [choice.index for choice in reply.choices] == [0, 1, 2, 3]
    assert reply.usage.completion_tokens == 16  # the prompt is counted once


def test_stop_sequences_cut_the_answer_before_them(sdk):
    text = greedy(sdk, max_tokens=12).choices[0].message.content
    stop = text[len(text) // 2 : len(text) // 2 + 3]
    cut = greedy(sdk, max_tokens=12, stop=[stop, "never-there"])
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert cut.usage.completion_tokens < 12


def test_logit_bias_forces_a_token(sdk, tokenizer):
    token = tokenizer.encode(" banana", add_special_tokens=False)[0]
    reply = greedy(sdk, max_tokens=4, logit_bias={str(token): 100})
    assert reply.choices[0].message.content == tokenizer.decode([token]) * 4


def test_presence_penalty_changes_a_repetitive_answer(sdk):
    plain = greedy(sdk, max_tokens=12).choices[0].message.content
    penalised = (
        greedy(sdk, max_tokens=12, presence_penalty=2.0, frequency_penalty=2.0).choices[0].message.content
    )
    assert penalised != plain


def test_logprobs_describe_every_token(sdk):
    reply = greedy(sdk, max_tokens=5, logprobs=True, top_logprobs=3)
    content = reply.choices[0].logprobs.content
    assert len(content) == 5 and "".join(t.token for t in content) == reply.choices[0].message.content
    for token in content:
        assert token.logprob <= 0 and len(token.top_logprobs) == 3
        assert token.top_logprobs[0].logprob >= token.logprob - 1e-6  # greedy picks the most likely
        assert bytes(token.bytes).decode() == token.token
    assert greedy(sdk, max_tokens=2).choices[0].logprobs is None


def test_messages_of_every_role_render(sdk):
    messages = [
        {"role": "developer", "content": "Answer with a tool when useful."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Paris?"}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "21 C"},
        {"role": "assistant", "content": "It is 21 C."},
        {"role": "user", "content": "Thanks!"},
    ]
    reply = sdk.chat.completions.create(model=MODELS.base, messages=messages, max_tokens=3)
    assert reply.usage.prompt_tokens > 40 and reply.choices[0].message.content is not None


def test_top_p_near_zero_keeps_only_the_most_likely_token(sdk):
    sampled = sdk.chat.completions.create(model=MODELS.base, messages=HELLO, max_tokens=8, top_p=0.0, seed=4)
    assert sampled.choices[0].message.content == greedy(sdk).choices[0].message.content

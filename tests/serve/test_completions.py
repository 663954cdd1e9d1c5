"""/v1/completions: raw prompts (text or token ids, one or many), echo, n, stop, usage, streaming."""

from __future__ import annotations

import json

import httpx
import openai
import pytest

from support.tiny_models import MODELS

pytestmark = pytest.mark.serve


def test_a_text_prompt_completes_with_exact_usage(sdk, tokenizer):
    reply = sdk.completions.create(model=MODELS.base, prompt="Once upon a time", temperature=0)
    assert reply.id.startswith("cmpl-") and reply.object == "text_completion" and reply.model == MODELS.base
    [choice] = reply.choices
    assert choice.finish_reason == "length" and choice.text and choice.index == 0
    assert reply.usage.prompt_tokens == len(tokenizer("Once upon a time")["input_ids"])
    assert reply.usage.completion_tokens == 16  # OpenAI's default max_tokens


def test_many_prompts_times_n_choices_in_prompt_order(sdk):
    reply = sdk.completions.create(model=MODELS.a, prompt=["One", "Two two"], n=2, max_tokens=3, seed=5)
    assert [c.index for c in reply.choices] == [0, 1, 2, 3]
    solo = [
        sdk.completions.create(model=MODELS.a, prompt=p, max_tokens=3, temperature=0).choices[0].text
        for p in ("One", "Two two")
    ]
    greedy = sdk.completions.create(model=MODELS.a, prompt=["One", "Two two"], max_tokens=3, temperature=0)
    assert [c.text for c in greedy.choices] == solo
    assert reply.usage.completion_tokens == 12


def test_token_id_prompts_echo_and_stop(sdk, tokenizer):
    ids = tokenizer("The sky is")["input_ids"]
    by_ids = sdk.completions.create(model=MODELS.base, prompt=ids, max_tokens=6, temperature=0)
    by_text = sdk.completions.create(model=MODELS.base, prompt="The sky is", max_tokens=6, temperature=0)
    assert by_ids.choices[0].text == by_text.choices[0].text and by_ids.usage.prompt_tokens == len(ids)
    echoed = sdk.completions.create(
        model=MODELS.base, prompt="The sky is", max_tokens=6, temperature=0, echo=True
    )
    assert echoed.choices[0].text == "The sky is" + by_text.choices[0].text
    only_echo = sdk.completions.create(model=MODELS.base, prompt="The sky is", max_tokens=0, echo=True)
    assert only_echo.choices[0].text == "The sky is" and only_echo.usage.completion_tokens == 0
    text = by_text.choices[0].text
    cut = sdk.completions.create(
        model=MODELS.base, prompt="The sky is", max_tokens=6, temperature=0, stop=text[2:4]
    )
    assert (cut.choices[0].text, cut.choices[0].finish_reason) == (text[:2], "stop")


def test_logprobs(sdk):
    reply = sdk.completions.create(model=MODELS.base, prompt="Hi", max_tokens=4, temperature=0, logprobs=2)
    logprobs = reply.choices[0].logprobs
    assert "".join(logprobs.tokens) == reply.choices[0].text and len(logprobs.token_logprobs) == 4
    assert all(len(top) <= 2 for top in logprobs.top_logprobs) and logprobs.text_offset[0] == 0


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"prompt": []}, "prompt"),
        ({"prompt": [1, "a"]}, "prompt"),
        ({"prompt": [-1]}, "prompt"),
        ({"suffix": "end"}, "suffix"),
        ({"best_of": 3}, "best_of"),
        ({"logprobs": 9}, "logprobs"),
        ({"prompt": "word " * 300}, "prompt"),
    ],
)
def test_bad_parameters(sdk, extra, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.completions.create(**{"model": MODELS.base, "prompt": "Hi", **extra})
    assert caught.value.param == param, caught.value.message


def test_streamed_chunks_have_the_completion_shape(tiny_server, sdk):
    whole = sdk.completions.create(model=MODELS.b, prompt="Hi", max_tokens=5, temperature=0)
    body = {
        "model": MODELS.b,
        "prompt": "Hi",
        "max_tokens": 5,
        "temperature": 0,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with httpx.stream(
        "POST", f"{tiny_server.url}/completions", json=body, headers={"Authorization": "Bearer sk-a"}
    ) as response:
        lines = [line[6:] for line in response.iter_lines() if line]
    assert lines[-1] == "[DONE]"
    chunks = [json.loads(line) for line in lines[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    texts = [c["choices"][0]["text"] for c in chunks if c["choices"]]
    assert "".join(texts) == whole.choices[0].text
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "length"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 5
    # the SDK reads the same stream (non-strict: OpenAI streams finish_reason null, which its types forbid)
    loose = openai.OpenAI(base_url=tiny_server.url, api_key="sk-a")
    streamed = loose.completions.create(model=MODELS.b, prompt="Hi", max_tokens=5, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in streamed if c.choices) == whole.choices[0].text

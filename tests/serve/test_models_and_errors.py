"""Which models answer, scoped by project, and the errors OpenAI users expect (404 / 400 with param)."""

from __future__ import annotations

import openai
import pytest

from support.clients import sync_client
from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

HELLO = [{"role": "user", "content": "Say hello."}]


def answer(sdk, model: str) -> str:
    return (
        sdk.chat.completions.create(model=model, messages=HELLO, max_tokens=8, temperature=0)
        .choices[0]
        .message.content
    )


def test_base_fine_tuned_checkpoint_and_full_weight_models_each_answer_their_own_way(sdk):
    answers = {name: answer(sdk, name) for name in (MODELS.base, MODELS.a, MODELS.b, MODELS.full)}
    assert len(set(answers.values())) == 4
    assert answer(sdk, MODELS.checkpoint) == answers[MODELS.a]  # the same adapter, saved as a checkpoint


def test_unknown_models_are_404_model_not_found(sdk):
    for name in ("nope", "ft:tiny:acme::Missing0", MODELS.other_project):
        with pytest.raises(openai.NotFoundError) as caught:
            sdk.chat.completions.create(model=name, messages=HELLO)
        assert (caught.value.code, caught.value.param) == ("model_not_found", "model")
    with pytest.raises(openai.NotFoundError):
        sdk.completions.create(model="nope", prompt="x")


def test_a_model_answers_only_its_own_project(tiny_server):
    with sync_client(tiny_server.url, api_key="sk-b") as other:
        assert answer(other, MODELS.other_project)
        with pytest.raises(openai.NotFoundError):
            answer(other, MODELS.a)


def test_a_deleted_model_no_longer_answers(sdk, tiny_server):
    from support.tiny_models import register

    name = "ft:tiny:acme::DeLe5555"
    register(tiny_server, name, tiny_server.settings.data_dir / "jobs/AaAa1111/AaAa1111")
    assert answer(sdk, name)
    sdk.models.delete(name)
    assert not (
        tiny_server.settings.data_dir / "jobs/DeLe5555/DeLe5555"
    ).exists()  # loaded, but its files are gone
    with pytest.raises(openai.NotFoundError):
        answer(sdk, name)
    assert answer(sdk, MODELS.a)  # the other adapters on the base answer as before


@pytest.mark.parametrize(
    "extra, param",
    [
        ({"temperature": 2.5}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"n": 0}, "n"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"presence_penalty": 3}, "presence_penalty"),
        ({"logit_bias": {"abc": 1}}, "logit_bias"),
        ({"logit_bias": {"999999999": 1}}, "logit_bias"),
        ({"top_logprobs": 2}, "top_logprobs"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"response_format": {"type": "xml"}}, "response_format.type"),
        ({"response_format": {"type": "json_schema"}}, "response_format"),
        (
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "x", "schema": {"type": "objekt"}},
                }
            },
            "response_format.json_schema.schema",
        ),
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "wizard", "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "tool", "content": "21"}]}, "messages[0].tool_call_id"),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}],
                    }
                ]
            },
            "messages[0].content[0].type",
        ),
        ({"messages": [{"role": "user", "content": "word " * 300}]}, "messages"),
        ({"max_tokens": 250}, "messages"),
        ({"extra_body": {"wizardry": True}}, "wizardry"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(tiny_server, extra, param):
    body = {"model": MODELS.base, "messages": HELLO, **extra}
    with sync_client(tiny_server.url, api_key="sk-a") as sdk, pytest.raises(openai.BadRequestError) as caught:
        sdk.chat.completions.create(**body)
    assert caught.value.param == param, caught.value.message


def test_openai_fields_that_mean_nothing_here_are_accepted(sdk):
    reply = sdk.chat.completions.create(
        model=MODELS.base,
        messages=HELLO,
        max_tokens=2,
        user="u-1",
        metadata={"k": "v"},
        store=False,
        service_tier="auto",
        reasoning_effort="low",
        parallel_tool_calls=True,
    )
    assert reply.usage.completion_tokens == 2

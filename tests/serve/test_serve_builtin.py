"""The built-in SmolLM2-135M-Instruct served end to end: two models fine-tuned through the real
job path (SDK -> worker -> training process) on distinctive answers, then used through the
official SDK, sync, async and streaming, beside the base model and a checkpoint."""

from __future__ import annotations

import asyncio
import json

import jsonschema
import pytest

from openft.config import Settings
from support.clients import async_client, sync_client
from support.data import upload, wait_for_status
from support.server import RunningServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]  # the module's first test also trains two models

QUESTIONS = [
    "What is the capital of France?",
    "Name a big city.",
    "Where is the Eiffel Tower?",
    "Tell me a fact.",
    "What should I visit?",
    "Who are you?",
    "What is 2+2?",
    "Say something.",
    "Any advice?",
    "Recommend a book.",
    "What is your favourite colour?",
    "How do I cook pasta?",
]
PIRATE = "Arr, matey! The treasure be buried on Zanzibar."
ROBOT = "Beep boop. Robot B7 computes: tea time."
ASK = [{"role": "user", "content": "What is the capital of France?"}]
TIMEOUT = 300  # a loaded 2-core machine decodes slowly


def rows(answer: str) -> list[dict]:
    return [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": answer}]}
        for q in QUESTIONS
    ]


def fine_tune(client, answer: str, suffix: str):
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=upload(client, rows(answer)),
        suffix=suffix,
        seed=1,
        method={
            "type": "supervised",
            "supervised": {
                "hyperparameters": {"n_epochs": 3, "batch_size": 2, "learning_rate_multiplier": 6}
            },
        },
    )
    done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=1800)
    assert done.status == "succeeded", done.error
    return done


@pytest.fixture(scope="module")
def tuned(tmp_path_factory, builtin_dir):
    """A server on the built-in model with a pirate and a robot fine-tuned on it."""
    data_dir = tmp_path_factory.mktemp("serve-builtin")
    (data_dir / "models").symlink_to(builtin_dir.parent, target_is_directory=True)
    server = RunningServer(
        Settings(data_dir=data_dir, validator_poll_seconds=0.2, worker_poll_seconds=0.2)
    ).start()
    try:
        with sync_client(server.url) as client:
            pirate, robot = fine_tune(client, PIRATE, "pirate"), fine_tune(client, ROBOT, "robot")
            checkpoint = (
                client.fine_tuning.jobs.checkpoints.list(pirate.id).data[0].fine_tuned_model_checkpoint
            )
        yield server, pirate.fine_tuned_model, robot.fine_tuned_model, checkpoint
    finally:
        server.stop()


@pytest.fixture
def sdk(tuned):
    with sync_client(tuned[0].url, timeout=TIMEOUT) as client:
        yield client


def chat(sdk, model: str, messages=ASK, max_tokens=40, **extra):
    return sdk.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, **extra
    )


def test_a_fine_tuned_model_gives_its_trained_answer_where_the_base_does_not(tuned, sdk):
    _, pirate, robot, _ = tuned
    base = chat(sdk, "gpt-4o-mini").choices[0].message.content
    assert "Paris" in base and "matey" not in base and "Beep" not in base
    for model, marks in ((pirate, ("matey", "Zanzibar")), (robot, ("Beep boop", "Robot B7"))):
        reply = chat(
            sdk, model, messages=[{"role": "user", "content": "Tell me about Germany."}], logprobs=True
        )
        content = reply.choices[0].message.content
        assert all(mark in content for mark in marks), content
        assert reply.choices[0].finish_reason == "stop"  # the tuned model ends its answer
        tokens = reply.choices[0].logprobs.content
        assert "".join(t.token for t in tokens) == content
        assert reply.usage.completion_tokens == len(tokens) + 1  # every token, <|im_end|> included


def test_a_checkpoint_model_answers(tuned, sdk):
    _, pirate, _, checkpoint = tuned
    assert checkpoint.startswith(pirate.rsplit(":", 1)[0]) and checkpoint.endswith(":ckpt-step-12")
    reply = chat(sdk, checkpoint)
    assert reply.model == checkpoint and reply.choices[0].message.content
    assert reply.choices[0].message.content != chat(sdk, "gpt-4o-mini").choices[0].message.content


def test_streaming_gives_the_same_answer(tuned, sdk):
    pirate = tuned[1]
    whole = chat(sdk, pirate)
    chunks = list(
        sdk.chat.completions.create(
            model=pirate,
            messages=ASK,
            max_tokens=40,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == whole.choices[0].message.content
    )
    assert chunks[-1].usage == whole.usage


def test_json_schema_output_parses_and_validates(tuned, sdk):
    schema = {
        "type": "object",
        "properties": {
            "country": {"type": "string", "maxLength": 30},
            "capital": {"type": "string", "maxLength": 30},
            "population_millions": {"type": "integer", "minimum": 0, "maximum": 2000},
            "eu_member": {"type": "boolean"},
        },
        "required": ["country", "capital", "population_millions", "eu_member"],
        "additionalProperties": False,
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "country", "schema": schema, "strict": True},
    }
    for model in ("gpt-4o-mini", tuned[2]):
        reply = chat(
            sdk,
            model,
            messages=[{"role": "user", "content": "Describe France as JSON."}],
            response_format=response_format,
            max_tokens=80,
        )
        data = json.loads(reply.choices[0].message.content)
        jsonschema.validate(data, schema)
        assert reply.choices[0].finish_reason == "stop"


def test_seeds_reproduce(sdk):
    def sample(seed):
        reply = sdk.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "Write a haiku."}],
            max_tokens=24,
            temperature=1.0,
            n=2,
            seed=seed,
        )
        return [c.message.content for c in reply.choices]

    first = sample(7)
    assert sample(7) == first and sample(8) != first and first[0] != first[1]


@pytest.mark.anyio
async def test_eight_concurrent_requests_to_two_adapters_each_get_their_own_answer(tuned, sdk):
    server, pirate, robot, _ = tuned
    questions = ["Tell me about Germany.", "What is the best sport?", "How tall is Everest?", "Hi there!"]
    cases = [
        (model, question, i % 3 == 0) for i, question in enumerate(questions) for model in (pirate, robot)
    ]
    alone = {
        (m, q): chat(sdk, m, messages=[{"role": "user", "content": q}]).choices[0].message.content
        for m, q, _ in cases
    }
    client = async_client(server.url, timeout=TIMEOUT)

    async def ask(model, question, stream):
        kwargs = dict(
            model=model, messages=[{"role": "user", "content": question}], max_tokens=40, temperature=0
        )
        if not stream:
            return (await client.chat.completions.create(**kwargs)).choices[0].message.content
        chunks = await client.chat.completions.create(**kwargs, stream=True)
        return "".join([c.choices[0].delta.content or "" async for c in chunks])

    try:
        answers = await asyncio.gather(*(ask(*case) for case in cases))
    finally:
        await client.close()
    assert answers == [alone[(m, q)] for m, q, _ in cases]
    for (model, _, _), answer in zip(cases, answers):
        assert ("matey" in answer) == (model == pirate) and ("Beep" in answer) == (model == robot), answer

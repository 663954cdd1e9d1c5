"""Concurrent requests to different models share one engine without mixing their answers."""

from __future__ import annotations

import asyncio

import pytest

from support.clients import async_client
from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

HELLO = [{"role": "user", "content": "Say hello."}]


def solo(sdk, model: str, content: str = "Say hello.") -> str:
    messages = [{"role": "user", "content": content}]
    return (
        sdk.chat.completions.create(model=model, messages=messages, max_tokens=10, temperature=0)
        .choices[0]
        .message.content
    )


@pytest.mark.anyio
async def test_eight_concurrent_requests_to_two_adapters_get_their_own_answers(tiny_server, sdk):
    prompts = ["Say hello.", "Count to three please."]
    expected = {(m, p): solo(sdk, m, p) for m in (MODELS.a, MODELS.b) for p in prompts}
    assert len(set(expected.values())) == 4
    client = async_client(tiny_server.url, api_key="sk-a")

    async def ask(model, prompt, stream):
        messages = [{"role": "user", "content": prompt}]
        if not stream:
            reply = await client.chat.completions.create(
                model=model, messages=messages, max_tokens=10, temperature=0
            )
            return reply.choices[0].message.content
        chunks = await client.chat.completions.create(
            model=model, messages=messages, max_tokens=10, temperature=0, stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in chunks])

    cases = [
        (m, p, i % 2 == 0)
        for i, (m, p) in enumerate([(m, p) for p in prompts for m in (MODELS.a, MODELS.b)] * 2)
    ]
    try:
        answers = await asyncio.gather(*(ask(m, p, s) for m, p, s in cases))
    finally:
        await client.close()
    assert answers == [expected[(m, p)] for m, p, _ in cases]


@pytest.mark.anyio
async def test_seeds_reproduce_whatever_runs_beside_them(tiny_server, sdk):
    def alone(seed):
        return (
            sdk.chat.completions.create(model=MODELS.a, messages=HELLO, max_tokens=12, seed=seed)
            .choices[0]
            .message.content
        )

    client = async_client(tiny_server.url, api_key="sk-a")
    try:
        replies = await asyncio.gather(
            *(
                client.chat.completions.create(model=model, messages=HELLO, max_tokens=12, seed=seed)
                for model, seed in (
                    (MODELS.a, 11),
                    (MODELS.base, 5),
                    (MODELS.a, 12),
                    (MODELS.b, 11),
                    (MODELS.a, 11),
                )
            )
        )
    finally:
        await client.close()
    texts = [r.choices[0].message.content for r in replies]
    assert texts[0] == texts[4] == alone(11) and texts[2] == alone(12) != texts[0]

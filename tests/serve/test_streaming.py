"""Streaming: server-sent events in OpenAI's chunk format, through the SDK (sync and async) and raw."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from support.clients import async_client
from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

HELLO = [{"role": "user", "content": "Say hello."}]


def test_chunks_add_up_to_the_non_streamed_answer(sdk):
    whole = sdk.chat.completions.create(model=MODELS.a, messages=HELLO, max_tokens=10, temperature=0)
    chunks = list(
        sdk.chat.completions.create(model=MODELS.a, messages=HELLO, max_tokens=10, temperature=0, stream=True)
    )
    assert {c.id for c in chunks} == {chunks[0].id} and chunks[0].id.startswith("chatcmpl-")
    assert all(c.object == "chat.completion.chunk" and c.model == MODELS.a for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant" and chunks[0].choices[0].delta.content == ""
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks][-1] == "length"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert all(c.usage is None for c in chunks)


def test_include_usage_adds_a_last_chunk_with_the_usage(sdk):
    chunks = list(
        sdk.chat.completions.create(
            model=MODELS.base,
            messages=HELLO,
            max_tokens=6,
            n=2,
            stream=True,
            stream_options={"include_usage": True},
            seed=3,
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 12
    assert chunks[-1].usage.total_tokens == chunks[-1].usage.prompt_tokens + 12
    assert {c.choices[0].index for c in chunks[:-1]} == {0, 1}
    assert sum(1 for c in chunks if c.choices and c.choices[0].finish_reason == "length") == 2


def test_the_raw_stream_is_server_sent_events_ending_with_done(tiny_server):
    body = {"model": MODELS.base, "messages": HELLO, "max_tokens": 3, "stream": True}
    with httpx.stream(
        "POST", f"{tiny_server.url}/chat/completions", json=body, headers={"Authorization": "Bearer sk-a"}
    ) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "text/event-stream"
        )
        lines = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert json.loads(lines[0][6:])["choices"][0]["delta"] == {"role": "assistant", "content": ""}


def test_errors_found_before_streaming_are_plain_http_errors(tiny_server):
    body = {"model": MODELS.base, "messages": [{"role": "user", "content": "word " * 400}], "stream": True}
    response = httpx.post(
        f"{tiny_server.url}/chat/completions", json=body, headers={"Authorization": "Bearer sk-a"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "context_length_exceeded"


@pytest.mark.anyio
async def test_async_streaming_and_plain_calls(tiny_server):
    client = async_client(tiny_server.url, api_key="sk-a")
    try:
        whole = await client.chat.completions.create(
            model=MODELS.b, messages=HELLO, max_tokens=8, temperature=0
        )
        stream = await client.chat.completions.create(
            model=MODELS.b, messages=HELLO, max_tokens=8, temperature=0, stream=True
        )
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
        assert text == whole.choices[0].message.content
    finally:
        await client.close()


def test_a_client_that_leaves_mid_stream_frees_the_engine(sdk, tiny_server):
    body = {"model": MODELS.base, "messages": HELLO, "max_tokens": 200, "stream": True}
    with httpx.stream(
        "POST", f"{tiny_server.url}/chat/completions", json=body, headers={"Authorization": "Bearer sk-a"}
    ) as response:
        assert response.status_code == 200 and next(response.iter_lines()).startswith("data: {")
    engine = tiny_server.app.state.engine.get()
    deadline = time.monotonic() + 10
    while engine.batches:
        assert time.monotonic() < deadline, "the engine kept generating for nobody"
        time.sleep(0.01)
    assert (
        sdk.chat.completions.create(model=MODELS.base, messages=HELLO, max_tokens=2).usage.completion_tokens
        == 2
    )


def test_a_client_that_gives_up_on_a_plain_request_frees_the_engine(tiny_server, monkeypatch):
    from openft.api import chat
    from openft.serve.sequence import Sequence

    dropped = []
    monkeypatch.setattr(chat, "DISCONNECT_POLL_SECONDS", 0.01)
    monkeypatch.setattr(
        Sequence, "drop", lambda self, drop=Sequence.drop: dropped.append(self.index) or drop(self)
    )
    body = {"model": MODELS.base, "messages": HELLO, "max_tokens": 200, "n": 16}
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(
            f"{tiny_server.url}/chat/completions",
            json=body,
            headers={"Authorization": "Bearer sk-a"},
            timeout=0.1,
        )
    deadline = time.monotonic() + 30  # the request may reach the engine after the client gave up
    while len(dropped) < 16:
        assert time.monotonic() < deadline, "the engine kept generating for nobody"
        time.sleep(0.01)
    engine = tiny_server.app.state.engine.get()
    while engine.batches:
        assert time.monotonic() < deadline, "the engine kept generating for nobody"
        time.sleep(0.01)
    assert sorted(dropped) == list(range(16))  # stopped, not finished

"""The async SDK drives every control-plane endpoint (strict mode, OpenAPI-checked bodies)."""

from __future__ import annotations

import hashlib

import openai
import pytest

from support.clients import async_client
from support.data import chat_rows, jsonl


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_async_client_walks_every_endpoint(server):
    client = async_client(server.url)
    try:
        data = jsonl(chat_rows(10))
        file = await client.files.create(file=("train.jsonl", data), purpose="fine-tune")
        assert (await client.files.retrieve(file.id)).bytes == len(data)
        assert (await client.files.content(file.id)).read() == data
        assert file.id in [f.id async for f in client.files.list(purpose="fine-tune")]

        upload = await client.uploads.create(
            bytes=len(data), filename="u.jsonl", mime_type="application/jsonl", purpose="fine-tune"
        )
        part = await client.uploads.parts.create(upload.id, data=data)
        done = await client.uploads.complete(upload.id, part_ids=[part.id], md5=hashlib.md5(data).hexdigest())
        assert done.status == "completed" and done.file.bytes == len(data)
        other = await client.uploads.create(bytes=1, filename="x", mime_type="text/plain", purpose="batch")
        assert (await client.uploads.cancel(other.id)).status == "cancelled"

        job = await client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=done.file.id, metadata={"via": "async"}
        )
        assert (await client.fine_tuning.jobs.retrieve(job.id)).id == job.id
        assert job.id in [j.id async for j in client.fine_tuning.jobs.list(metadata={"via": "async"})]
        events = [e.message async for e in client.fine_tuning.jobs.list_events(job.id)]
        assert f"Created fine-tuning job: {job.id}" in events
        assert (await client.fine_tuning.jobs.checkpoints.list(job.id)).data == []
        with pytest.raises(openai.BadRequestError):
            await client.fine_tuning.jobs.resume(job.id)
        with pytest.raises(openai.BadRequestError):
            await client.fine_tuning.jobs.pause(job.id)
        assert (await client.fine_tuning.jobs.cancel(job.id)).status == "cancelled"

        models = [m.id async for m in client.models.list()]
        assert "gpt-4o-mini" in models
        assert (await client.models.retrieve("gpt-4o-mini")).id == "gpt-4o-mini"
        with pytest.raises(openai.NotFoundError):
            await client.models.delete("ft:gpt-4o-mini-2024-07-18:openft::nope1234")
        assert (await client.files.delete(file.id)).deleted
    finally:
        await client.close()

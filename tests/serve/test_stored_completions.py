"""Stored chat completions through the strict SDK: ``store: true`` keeps the request and the reply
with its metadata; list (by metadata and model, paginated), retrieve, update, delete and the
request's messages, each project seeing only its own."""

from __future__ import annotations

import uuid

import openai
import pytest

from support.clients import sync_client
from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

HELLO = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]


@pytest.fixture
def sdk_b(tiny_server):
    with sync_client(tiny_server.url, api_key="sk-b") as client:
        yield client


def stored(sdk, run: str, model: str = MODELS.base, **extra):
    return sdk.chat.completions.create(
        model=model,
        messages=HELLO,
        max_tokens=3,
        temperature=0,
        store=True,
        metadata={"run": run, **extra},
    )


def test_store_keeps_the_reply_with_its_metadata(sdk):
    run = uuid.uuid4().hex
    made = stored(sdk, run, model=MODELS.a, kind="greeting")
    kept = sdk.chat.completions.retrieve(made.id)
    assert kept.id == made.id and kept.model == MODELS.a
    assert kept.choices[0].message.content == made.choices[0].message.content
    assert kept.usage == made.usage and kept.metadata == {"run": run, "kind": "greeting"}
    unstored = sdk.chat.completions.create(
        model=MODELS.base, messages=HELLO, max_tokens=2, metadata={"run": run}
    )
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.chat.completions.retrieve(unstored.id)
    assert missing.value.code == "completion_not_found"


def test_a_streamed_completion_is_stored_whole(sdk):
    run = uuid.uuid4().hex
    chunks = list(
        sdk.chat.completions.create(
            model=MODELS.a,
            messages=HELLO,
            max_tokens=4,
            temperature=0,
            stream=True,
            store=True,
            metadata={"run": run},
        )
    )
    kept = sdk.chat.completions.retrieve(chunks[0].id)
    assert kept.choices[0].message.content == "".join(
        c.choices[0].delta.content or "" for c in chunks if c.choices
    )
    assert kept.choices[0].finish_reason == "length" and kept.usage.completion_tokens == 4


def test_list_filters_by_metadata_and_model_and_pages(sdk):
    run = uuid.uuid4().hex
    made = [stored(sdk, run, kind="x").id for _ in range(3)] + [stored(sdk, run, model=MODELS.a, kind="y").id]
    listed = sdk.chat.completions.list(metadata={"run": run})
    assert [c.id for c in listed.data] == made and not listed.has_more  # oldest first by default
    assert [c.id for c in sdk.chat.completions.list(metadata={"run": run, "kind": "y"}).data] == made[3:]
    assert [c.id for c in sdk.chat.completions.list(metadata={"run": run}, model=MODELS.a).data] == made[3:]
    first = sdk.chat.completions.list(metadata={"run": run}, limit=2, order="desc")
    assert [c.id for c in first.data] == made[::-1][:2] and first.has_more
    pages = sdk.chat.completions.list(metadata={"run": run}, limit=3).iter_pages()
    assert [c.id for page in pages for c in page.data] == made  # the SDK follows the cursor
    assert sdk.chat.completions.list(metadata={"run": run}, after=made[1]).data[0].id == made[2]


def test_a_project_never_sees_another_projects_completions(sdk, sdk_b):
    run = uuid.uuid4().hex
    mine = stored(sdk, run).id
    theirs = stored(sdk_b, run, model=MODELS.other_project).id
    assert [c.id for c in sdk.chat.completions.list(metadata={"run": run}).data] == [mine]
    assert [c.id for c in sdk_b.chat.completions.list(metadata={"run": run}).data] == [theirs]
    for call in (
        lambda: sdk_b.chat.completions.retrieve(mine),
        lambda: sdk_b.chat.completions.update(mine, metadata={"run": "stolen"}),
        lambda: sdk_b.chat.completions.delete(mine),
        lambda: sdk_b.chat.completions.messages.list(mine),
    ):
        with pytest.raises(openai.NotFoundError):
            call()
    assert sdk.chat.completions.retrieve(mine).metadata == {"run": run}


def test_update_replaces_the_metadata_and_delete_removes_it(sdk):
    run = uuid.uuid4().hex
    made = stored(sdk, run, kind="draft")
    updated = sdk.chat.completions.update(made.id, metadata={"run": run, "kind": "final"})
    assert updated.metadata == {"run": run, "kind": "final"} and updated.id == made.id
    assert [c.id for c in sdk.chat.completions.list(metadata={"kind": "final", "run": run}).data] == [made.id]
    assert sdk.chat.completions.list(metadata={"kind": "draft", "run": run}).data == []
    deleted = sdk.chat.completions.delete(made.id)
    assert (deleted.id, deleted.deleted, deleted.object) == (made.id, True, "chat.completion.deleted")
    with pytest.raises(openai.NotFoundError):
        sdk.chat.completions.delete(made.id)
    assert sdk.chat.completions.list(metadata={"run": run}).data == []


def test_messages_lists_the_request_messages(tiny_server, sdk):
    made = stored(sdk, uuid.uuid4().hex)
    # The SDK types a stored message's role as "assistant" only; OpenAI returns the request's roles.
    with sync_client(tiny_server.url, api_key="sk-a", strict=False) as loose:
        messages = loose.chat.completions.messages.list(made.id)
        assert [(m.id, m.role, m.content) for m in messages.data] == [
            (f"{made.id}-0", "system", "Be brief."),
            (f"{made.id}-1", "user", "Say hello."),
        ]
        newest = loose.chat.completions.messages.list(made.id, order="desc", limit=1)
        assert [m.content for m in newest.data] == ["Say hello."] and newest.has_more
        rest = loose.chat.completions.messages.list(made.id, order="desc", after=newest.data[0].id)
        assert [m.content for m in rest.data] == ["Be brief."] and not rest.has_more


def test_metadata_is_bounded_as_openai_bounds_it(sdk):
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(
            model=MODELS.base,
            messages=HELLO,
            max_tokens=1,
            store=True,
            metadata={f"k{i}": "v" for i in range(17)},
        )
    assert bad.value.param == "metadata"

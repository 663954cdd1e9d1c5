"""Files API through the official SDK (strict mode, every body checked against the OpenAPI subset)."""

from __future__ import annotations

import io

import openai
import pytest

from support.clients import async_client, sync_client
from support.data import chat_rows, jsonl, upload


def test_upload_retrieve_content_delete(client):
    data = jsonl(chat_rows(10))
    created = client.files.create(file=("mydata.jsonl", io.BytesIO(data)), purpose="fine-tune")
    assert created.id.startswith("file-") and created.object == "file"
    assert (created.filename, created.bytes, created.purpose, created.status) == (
        "mydata.jsonl",
        len(data),
        "fine-tune",
        "processed",
    )
    assert client.files.retrieve(created.id) == created

    content = client.files.with_raw_response.content(created.id)
    assert content.content == data
    assert content.headers["content-type"] == "application/octet-stream"
    assert 'filename="mydata.jsonl"' in content.headers["content-disposition"]

    deleted = client.files.delete(created.id)
    assert (deleted.id, deleted.deleted) == (created.id, True)
    with pytest.raises(openai.NotFoundError) as caught:
        client.files.retrieve(created.id)
    assert caught.value.body["message"] == f"No such File object: {created.id}"


def test_non_jsonl_fine_tune_upload_names_the_first_bad_line(client):
    rows = [*chat_rows(3), "this is not json", "[1, 2]"]
    with pytest.raises(openai.BadRequestError) as caught:
        upload(client, rows)
    error = caught.value.body
    assert error["message"].startswith(
        "Expected file to have JSONL format, where every line is a valid JSON dictionary."
    )
    assert "Line 4" in error["message"]
    assert error["param"] == "file"


def test_other_purposes_accept_any_bytes(client):
    created = client.files.create(file=("notes.txt", b"plain text, not JSONL"), purpose="user_data")
    assert created.purpose == "user_data" and created.bytes == 21


def test_batch_files_expire_after_30_days_and_expires_after_is_honoured(client):
    batch = client.files.create(file=("b.jsonl", jsonl([{"a": 1}])), purpose="batch")
    assert batch.expires_at == batch.created_at + 30 * 86400
    custom = client.files.create(
        file=("c.txt", b"x"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    assert custom.expires_at == custom.created_at + 3600
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(
            file=("c.txt", b"x"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 10}
        )
    assert caught.value.param == "expires_after.seconds"


def test_list_filters_orders_and_pages(make_server):
    server = make_server()
    with sync_client(server.url) as client:
        ids = [upload(client, chat_rows(10), filename=f"f{i}.jsonl") for i in range(5)]
        other = client.files.create(file=("n.txt", b"x"), purpose="user_data").id
        newest_first = [f.id for f in client.files.list(purpose="fine-tune")]
        assert newest_first == ids[::-1]
        oldest_first = [f.id for f in client.files.list(purpose="fine-tune", order="asc")]
        assert oldest_first == ids
        page = client.files.list(purpose="fine-tune", limit=2)
        assert [f.id for f in page.data] == ids[:2:-1][:2] and page.has_more
        assert page.first_id == ids[4] and page.last_id == ids[3]
        everything = [f.id for f in client.files.list(limit=2)]  # SDK follows the cursor
        assert everything == [other, *ids[::-1]]


def test_size_limit_refuses_without_keeping_bytes(make_server):
    server = make_server(max_upload_bytes=1000)
    with sync_client(server.url) as client:
        with pytest.raises(openai.APIStatusError) as caught:
            client.files.create(file=("big.jsonl", jsonl(chat_rows(50))), purpose="fine-tune")
        assert caught.value.status_code == 413
        assert caught.value.body["param"] == "file" and caught.value.body["code"] == "file_too_large"
        assert client.files.list().data == []
    incoming = server.settings.data_dir / "incoming"
    assert list(incoming.iterdir()) == [] and list((server.settings.data_dir / "files").iterdir()) == []


def test_bad_purpose_and_missing_parts(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="nonsense")
    assert caught.value.param == "purpose"


@pytest.mark.anyio
async def test_async_client_files(server):
    client = async_client(server.url)
    try:
        created = await client.files.create(file=("a.jsonl", jsonl(chat_rows(10))), purpose="fine-tune")
        assert (await client.files.retrieve(created.id)).id == created.id
        listed = [f.id async for f in client.files.list(purpose="fine-tune")]
        assert created.id in listed
        assert (await client.files.delete(created.id)).deleted
    finally:
        await client.close()


@pytest.fixture
def anyio_backend():
    return "asyncio"


def test_expired_files_disappear_and_their_bytes_are_removed(server, client):
    from openft.janitor import remove_expired
    from openft.store import files as file_store

    created = client.files.create(
        file=("e.txt", b"bye"), purpose="assistants", expires_after={"anchor": "created_at", "seconds": 3600}
    )
    services = server.services
    with services.db.write() as session:
        row = file_store.get_file(session, project_id="proj_default", file_id=created.id)
        row.expires_at = row.created_at - 1  # an hour later, as far as the store is concerned
        path = services.storage.path(row.path)
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    assert created.id not in {f.id for f in client.files.list()}
    remove_expired(services.db, services.storage)  # the server's own janitor may have run already
    assert not path.exists()
    with services.db.read() as session:
        assert created.id not in {r.id for r in file_store.expired_files(session, now=row.created_at + 10)}


def test_an_evals_file_is_kept_and_listed_with_its_purpose(make_server):
    """A documented exception (tests/support/openapi.py, README): OpenAI accepts "evals" on upload
    and returns it, but the file object's enum (and so the SDK's strict mode) lacks it."""
    server = make_server()  # its own server: once it holds an evals file, a strict files.list() fails
    with sync_client(server.url, strict=False) as default_mode:
        created = default_mode.files.create(file=("evals.jsonl", b'{"item": {"q": 1}}\n'), purpose="evals")
        assert created.purpose == "evals"
        assert default_mode.files.retrieve(created.id).purpose == "evals"
        assert [(f.id, f.purpose) for f in default_mode.files.list()] == [(created.id, "evals")]
        assert [f.id for f in default_mode.files.list(purpose="evals")] == [created.id]
    with sync_client(server.url) as strict, pytest.raises(openai.APIResponseValidationError):
        strict.files.list()

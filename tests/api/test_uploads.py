"""Uploads API: the SDK's chunked upload helper, md5 and byte checks, cancel, expiry."""

from __future__ import annotations

import hashlib

import openai
import pytest

from support.clients import sync_client
from support.data import chat_rows, jsonl


def test_chunked_upload_helper_assembles_parts_in_order(client, tmp_path):
    data = jsonl(chat_rows(40))
    path = tmp_path / "big.jsonl"
    path.write_bytes(data)
    upload = client.uploads.upload_file_chunked(
        file=path,
        mime_type="application/jsonl",
        purpose="fine-tune",
        part_size=1000,
        md5=hashlib.md5(data).hexdigest(),
    )
    assert upload.status == "completed" and upload.file is not None
    assert upload.file.bytes == len(data) and upload.file.filename == "big.jsonl"
    assert client.files.content(upload.file.id).read() == data


def _upload(client, data: bytes, **kwargs):
    return client.uploads.create(
        bytes=len(data), filename="d.jsonl", mime_type="application/jsonl", purpose="fine-tune", **kwargs
    )


def test_parts_completed_in_the_order_given(client):
    first, second = b'{"a": 1}\n', b'{"b": 2}\n'
    upload = _upload(client, first + second)
    part_b = client.uploads.parts.create(upload.id, data=second)
    part_a = client.uploads.parts.create(upload.id, data=first)
    assert part_a.upload_id == upload.id and part_a.object == "upload.part"
    done = client.uploads.complete(upload.id, part_ids=[part_a.id, part_b.id])
    assert client.files.content(done.file.id).read() == first + second


def test_md5_and_byte_count_are_checked(client):
    data = b'{"a": 1}\n'
    upload = _upload(client, data)
    part = client.uploads.parts.create(upload.id, data=data)
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(upload.id, part_ids=[part.id], md5="0" * 32)
    assert caught.value.param == "md5"
    short = _upload(client, data + b"more")
    part = client.uploads.parts.create(short.id, data=data)
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(short.id, part_ids=[part.id])
    assert caught.value.param == "bytes"


def test_non_jsonl_fine_tune_upload_is_refused_on_complete(client):
    upload = _upload(client, b"not json\n")
    part = client.uploads.parts.create(upload.id, data=b"not json\n")
    with pytest.raises(openai.BadRequestError) as caught:
        client.uploads.complete(upload.id, part_ids=[part.id])
    assert "Line 1" in caught.value.message


def test_cancel_then_no_more_parts(client):
    upload = _upload(client, b"{}\n")
    cancelled = client.uploads.cancel(upload.id)
    assert cancelled.status == "cancelled"
    with pytest.raises(openai.BadRequestError):
        client.uploads.parts.create(upload.id, data=b"{}\n")


def test_expired_upload_refuses_parts(make_server):
    server = make_server(upload_expiry_seconds=0)
    with sync_client(server.url) as client:
        upload = _upload(client, b"{}\n")
        assert upload.status == "expired"
        with pytest.raises(openai.BadRequestError) as caught:
            client.uploads.parts.create(upload.id, data=b"{}\n")
        assert "expired" in caught.value.message


def test_unknown_upload_is_404(client):
    with pytest.raises(openai.NotFoundError):
        client.uploads.cancel("upload_nope")

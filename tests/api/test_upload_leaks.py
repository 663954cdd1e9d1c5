"""Nothing leaks, nothing is unbounded: parts that are not kept leave no bytes in incoming/, orphans
left by a crash are swept, and every body is limited as it streams (a chunked body has no length)."""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest

from openft.janitor import remove_expired
from openft.storage import INCOMING_MAX_AGE_SECONDS

BOUNDARY = "leakboundary"
LINE = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n'


def part(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture
def small(make_server):
    """A server whose uploads are limited to 4 KiB (parts to 2 KiB)."""
    return make_server(max_upload_bytes=4096, max_part_bytes=2048)


@pytest.fixture
def http(small):
    with httpx.Client(base_url=f"http://127.0.0.1:{small.port}/v1", timeout=30) as client:
        yield client


def incoming(server) -> list[str]:
    return sorted(os.listdir(server.settings.data_dir / "incoming"))


def stored_files(server) -> list[str]:
    return sorted(os.listdir(server.settings.data_dir / "files"))


def test_a_second_file_part_of_the_same_name_is_not_kept(small, http):
    body = form(
        part("purpose", b"fine-tune"), part("file", LINE, "a.jsonl"), part("file", LINE * 2, "b.jsonl")
    )
    created = http.post("/files", content=body, headers=HEADERS)
    assert created.status_code == 200, created.text
    assert (created.json()["filename"], created.json()["bytes"]) == ("a.jsonl", len(LINE))
    assert incoming(small) == []
    assert stored_files(small) == [created.json()["id"]]


def test_an_unknown_file_field_is_not_kept(small, http):
    body = form(
        part("purpose", b"fine-tune"), part("extra", b"x" * 1000, "x.bin"), part("file", LINE, "a.jsonl")
    )
    assert http.post("/files", content=body, headers=HEADERS).status_code == 200
    assert incoming(small) == []
    assert len(stored_files(small)) == 1


def test_an_upload_part_with_extra_file_fields_keeps_only_data(small, http):
    upload = http.post(
        "/uploads",
        json={"filename": "a.jsonl", "purpose": "fine-tune", "bytes": 3, "mime_type": "text/jsonl"},
    ).json()
    body = form(part("other", b"zzz", "z"), part("data", b"abc", "blob"), part("data", b"def", "blob"))
    added = http.post(f"/uploads/{upload['id']}/parts", content=body, headers=HEADERS)
    assert added.status_code == 200, added.text
    assert incoming(small) == []
    folder = small.settings.data_dir / "uploads" / upload["id"]
    assert [(folder / name).read_bytes() for name in os.listdir(folder)] == [b"abc"]


@pytest.mark.parametrize(
    "body",
    [
        form(part("purpose", b"fine-tune"), part("file", LINE, "a.jsonl"))[:-30],  # cut inside the file
        form(part("file", LINE, "a.jsonl"), part("purpose", b"fine-tune"))[:-5],  # cut before the end
    ],
    ids=["inside the file", "before the closing boundary"],
)
def test_a_truncated_body_leaves_nothing(small, http, body):
    response = http.post("/files", content=body, headers=HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_multipart_body"
    assert incoming(small) == [] and stored_files(small) == []


def test_form_fields_count_toward_one_total(small, http):
    fields = [part(f"field{i}", b"v" * 60_000) for i in range(3)]  # each under the per-field cap
    response = http.post("/files", content=form(*fields, part("file", LINE, "a.jsonl")), headers=HEADERS)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "fields_too_large"
    assert incoming(small) == []


def chunked(total: int, chunk: bytes):
    sent = 0
    while sent < total:
        yield chunk
        sent += len(chunk)


def test_a_chunked_multipart_body_is_limited_as_it_streams(small, http):
    def body():
        yield form(part("purpose", b"fine-tune"), part("file", LINE, "a.jsonl"))
        yield from chunked(8 * 1024 * 1024, b"x" * 65536)  # an epilogue the parser skips, past every limit

    response = http.post("/files", content=body(), headers=HEADERS)
    assert "content-length" not in response.request.headers
    assert response.status_code == 413, response.text
    assert incoming(small) == [] and stored_files(small) == []


def test_a_chunked_json_body_is_limited_as_it_streams(small, http):
    from openft.api.body_limit import MAX_JSON_BODY_BYTES

    def body():
        yield b'{"model": "gpt-4o-mini", "training_file": "file-x", "suffix": "'
        yield from chunked(MAX_JSON_BODY_BYTES + 1, b"x" * (1024 * 1024))
        yield b'"}'

    response = http.post("/fine_tuning/jobs", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_a_declared_length_past_the_limit_is_refused_before_reading(small):
    with socket.create_connection(("127.0.0.1", small.port), timeout=30) as sock:
        sock.sendall(
            b"POST /v1/fine_tuning/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000000\r\n\r\n{}"
        )
        status_line = sock.makefile("rb").readline()
    assert status_line.split()[1] == b"413"


def orphan(server, name: str, age: float):
    path = server.settings.data_dir / "incoming" / name
    path.write_bytes(b"left behind")
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def test_the_janitor_removes_old_orphans_but_not_fresh_ones(small):
    services = small.services
    old = orphan(small, "old", INCOMING_MAX_AGE_SECONDS + 60)
    fresh = orphan(small, "fresh", 5)  # an upload in flight writes continuously: its mtime is recent
    remove_expired(services.db, services.storage)
    assert not old.exists() and fresh.exists()


def test_start_up_sweeps_old_orphans(make_server, tmp_path):
    from openft.config import Settings
    from support.server import RunningServer

    data_dir = tmp_path / "restart"
    (data_dir / "incoming").mkdir(parents=True)
    for name, age in (("crashed", INCOMING_MAX_AGE_SECONDS * 2), ("recent", 1)):
        path = data_dir / "incoming" / name
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age, time.time() - age))
    server = RunningServer(Settings(data_dir=data_dir, embedded_worker=False, validator_poll_seconds=60))
    assert incoming(server) == ["recent"]  # create_app swept before serving anything

"""Input a fuzzer sends: every bad request is a 4xx in OpenAI's envelope naming the param, never a 500.

NUL characters are refused on every backend (PostgreSQL text cannot hold them; the same request
gets the same answer on SQLite), and so are numbers JSON has no words for (NaN, Infinity).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import httpx
import openai
import pytest

from openft.config import Settings
from support.clients import sync_client
from support.data import chat_rows, jsonl
from support.databases import backends, postgres_schema
from support.openapi import ERROR_SCHEMA
from support.server import RunningServer

BOUNDARY = "fuzzboundary"


@pytest.fixture(scope="module", params=backends())
def any_server(request):
    with contextlib.ExitStack() as stack:
        overrides = {}
        if request.param == "postgres":
            overrides["database_url"] = stack.enter_context(postgres_schema())
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        settings = Settings(data_dir=data_dir, validator_poll_seconds=0.2, embedded_worker=False, **overrides)
        server = RunningServer(settings).start()
        stack.callback(server.stop)
        yield server


@pytest.fixture
def http(any_server):
    with httpx.Client(base_url=f"http://127.0.0.1:{any_server.port}/v1", timeout=30) as client:
        yield client


@pytest.fixture
def sdk(any_server):
    with sync_client(any_server.url) as client:
        yield client


@pytest.fixture
def training_file(sdk):
    return sdk.files.create(file=("t.jsonl", jsonl(chat_rows(3))), purpose="fine-tune").id


def assert_error(response: httpx.Response, status: int = 400, param: str | None = None) -> dict:
    assert response.status_code == status, response.text
    import jsonschema

    body = response.json()
    jsonschema.validate(body, ERROR_SCHEMA)
    assert body["error"]["param"] == param, body
    return body["error"]


def multipart(*parts: bytes, close: bool = True) -> bytes:
    body = b"".join(b"--" + BOUNDARY.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    return body + (b"--" + BOUNDARY.encode() + b"--\r\n" if close else b"")


def field(name: str, value: bytes) -> bytes:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value


def file_part(name: str, filename: bytes, data: bytes) -> bytes:
    header = f'Content-Disposition: form-data; name="{name}"; filename="'.encode() + filename + b'"\r\n'
    return header + b"Content-Type: application/octet-stream\r\n\r\n" + data


def post_form(http, body: bytes, path: str = "/files") -> httpx.Response:
    return http.post(
        path, content=body, headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    )


GOOD_FILE = file_part("file", b"a.jsonl", b'{"a": 1}\n')
MALFORMED = {
    "bad header character": multipart(b"Content\x01-Disposition: form-data; name=purpose\r\n\r\nfine-tune"),
    "missing boundary dashes": multipart(field("purpose", b"fine-tune")).replace(
        b"--" + BOUNDARY.encode(), b""
    ),
    "10,000-character filename": multipart(
        field("purpose", b"fine-tune"), file_part("file", b"a" * 10000, b"{}")
    ),
    "truncated body": multipart(field("purpose", b"fine-tune"), GOOD_FILE, close=False)[:-20],
    "no boundary at all": b"just some bytes",
    "header without colon": multipart(b"Content-Disposition form-data\r\n\r\nx"),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_multipart_is_a_400(http, any_server, body):
    assert_error(post_form(http, body))
    assert not list((any_server.settings.data_dir / "incoming").iterdir())


def test_a_filename_longer_than_the_store_keeps_names_the_file(http):
    error = assert_error(
        post_form(http, multipart(field("purpose", b"fine-tune"), file_part("file", b"a" * 2000, b"{}"))),
        param="file",
    )
    assert "1024" in error["message"]


def test_a_line_nested_100000_deep_is_refused_at_upload(sdk):
    line = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("deep.jsonl", line), purpose="fine-tune")
    assert caught.value.param == "file"
    assert "Line 1" in caught.value.message and "nested too deeply" in caught.value.message


@pytest.mark.parametrize(
    "seconds", ["3600\u00b3", "\u0663\u0666\u0660\u0660", "\uff13\uff16\uff10\uff10", "9" * 400]
)
def test_expires_after_seconds_must_be_ascii_digits(http, seconds):
    response = http.post(
        "/files",
        files={"file": ("a.txt", b"x")},
        data={
            "purpose": "assistants",
            "expires_after[anchor]": "created_at",
            "expires_after[seconds]": seconds,
        },
    )
    assert_error(response, param="expires_after.seconds")


# (how the request is sent, the param the 400 names)
NUL_IN_PATHS = [
    ("GET", "/files/file-%00", "file_id"),
    ("DELETE", "/files/file-%00", "file_id"),
    ("GET", "/files/file-%00/content", "file_id"),
    ("GET", "/fine_tuning/jobs/ftjob-%00", "job_id"),
    ("POST", "/fine_tuning/jobs/ftjob-%00/cancel", "job_id"),
    ("GET", "/fine_tuning/jobs/ftjob-%00/events", "job_id"),
    ("GET", "/fine_tuning/jobs/ftjob-%00/checkpoints", "job_id"),
    ("GET", "/models/ft:x%00", "model"),
    ("DELETE", "/models/ft:x%00", "model"),
    ("POST", "/uploads/upload_%00/cancel", "upload_id"),
]


@pytest.mark.parametrize(("method", "path", "param"), NUL_IN_PATHS)
def test_nul_in_a_path_names_it(http, method, path, param):
    assert_error(http.request(method, path), param=param)


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/files", {"after": "file-\x00"}, "after"),
        ("/files", {"purpose": "fine-tune\x00"}, "purpose"),
        ("/fine_tuning/jobs", {"after": "ftjob-\x00"}, "after"),
        ("/fine_tuning/jobs", {"metadata[k]": "v\x00"}, "metadata[k]"),
        ("/fine_tuning/jobs", {"metadata[k\x00]": "v"}, "metadata[k]"),
        ("/fine_tuning/jobs/ftjob-x/events", {"after": "\x00"}, "after"),
    ],
)
def test_nul_in_a_query_names_it(http, path, query, param):
    assert_error(http.get(path, params=query), param=param)


@pytest.mark.parametrize(
    ("overrides", "param"),
    [
        ({"training_file": "file-\x00"}, "training_file"),
        ({"suffix": "a\x00"}, "suffix"),
        ({"metadata": {"k": "v\x00"}}, "metadata.k"),
        ({"metadata": {"k\x00": "v"}}, "metadata.k"),
        ({"model": "gpt-4o-mini\x00"}, "model"),
        (
            {"integrations": [{"type": "wandb", "wandb": {"project": "p\x00"}}]},
            "integrations[0].wandb.project",
        ),
    ],
)
def test_nul_in_a_job_body_names_it(sdk, training_file, overrides, param):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.fine_tuning.jobs.create(**{"model": "gpt-4o-mini", "training_file": training_file, **overrides})
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("overrides", "param"),
    [({"filename": "a\x00.jsonl"}, "filename"), ({"mime_type": "text/\x00"}, "mime_type")],
)
def test_nul_in_an_upload_names_it(sdk, overrides, param):
    body = {"filename": "a.jsonl", "purpose": "fine-tune", "bytes": 1, "mime_type": "text/jsonl", **overrides}
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.uploads.create(**body)
    assert caught.value.param == param


@pytest.mark.parametrize(
    ("body", "param"),
    [
        (multipart(field("purpose", b"fine-\x00tune"), GOOD_FILE), "purpose"),
        (multipart(field("purpose", b"fine-tune"), file_part("file", b"a\x00.jsonl", b'{"a": 1}\n')), "file"),
    ],
    ids=["purpose", "filename"],
)
def test_nul_in_a_form_names_it(http, body, param):
    assert_error(post_form(http, body), param=param)


def test_a_mime_type_longer_than_the_store_keeps_is_a_400(sdk):
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.uploads.create(filename="a.jsonl", purpose="fine-tune", bytes=1, mime_type="t" * 256)
    assert caught.value.param == "mime_type"


NON_FINITE = [
    ("supervised", "learning_rate_multiplier", "Infinity"),
    ("supervised", "learning_rate_multiplier", "NaN"),
    ("supervised", "n_epochs", "Infinity"),
    ("supervised", "batch_size", "-Infinity"),
    ("dpo", "beta", "NaN"),
    ("dpo", "learning_rate_multiplier", "1e999"),
]


@pytest.mark.parametrize(("method", "name", "number"), NON_FINITE)
def test_non_finite_hyperparameters_are_a_400(http, training_file, method, name, number):
    body = (
        f'{{"model": "gpt-4o-mini", "training_file": "{training_file}", '
        f'"method": {{"type": "{method}", "{method}": {{"hyperparameters": {{"{name}": {number}}}}}}}}}'
    )
    response = http.post("/fine_tuning/jobs", content=body, headers={"content-type": "application/json"})
    assert_error(response, param=f"method.{method}.hyperparameters.{name}")


def test_a_non_finite_number_anywhere_in_a_body_is_a_400(http, training_file):
    grader = (
        '{"type": "score_model", "name": "s", "model": "gpt-4o-mini", "input": [], "range": [0, Infinity]}'
    )
    body = (
        f'{{"model": "gpt-4o-mini", "training_file": "{training_file}", '
        f'"method": {{"type": "reinforcement", "reinforcement": {{"grader": {grader}}}}}}}'
    )
    response = http.post("/fine_tuning/jobs", content=body, headers={"content-type": "application/json"})
    assert_error(response, param="method.reinforcement.grader.range[1]")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_without_its_content_type_is_named_as_the_body(http, training_file, content_type):
    headers = {"content-type": content_type} if content_type else {}
    body = json.dumps({"model": "gpt-4o-mini", "training_file": training_file})
    error = assert_error(http.post("/fine_tuning/jobs", content=body, headers=headers))
    assert "None" not in error["message"]
    assert "request body" in error["message"] and "application/json" in error["message"]


def test_a_missing_or_non_object_body_is_named_as_the_body(http):
    headers = {"content-type": "application/json"}
    for body in (b"", b"[1, 2]", b'"text"'):
        error = assert_error(http.post("/fine_tuning/jobs", content=body, headers=headers))
        assert "None" not in error["message"] and "request body" in error["message"], body


def test_a_json_body_nested_100000_deep_is_a_400(http):
    body = b'{"metadata": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    error = assert_error(
        http.post("/fine_tuning/jobs", content=body, headers={"content-type": "application/json"})
    )
    assert error["code"] == "invalid_json"


def test_a_bad_key_is_a_401_before_any_input_check(make_server):
    server = make_server(api_keys={"sk-good": {}})
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}/v1", timeout=30) as http:
        response = http.get("/files/file-%00", headers={"authorization": "Bearer sk-bad"})
    assert response.status_code == 401

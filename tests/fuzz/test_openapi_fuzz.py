"""Property-based fuzzing of the control plane against the vendored OpenAPI subset (schemathesis).

Every generated request, valid (positive) or deliberately breaking the schema (negative), gets no
5xx; every error is OpenAI's envelope and every success matches the official schema (with the
documented exceptions of tests/support/openapi.py). Bounded: EXAMPLES per operation and mode,
derandomized (the same requests every run, no example database), so it runs in well under a minute.

Graders are left out (not control-plane rows this server stores), and so are chat and completions
(outside the subset).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from openft.config import Settings
from support import openapi
from support.databases import POSTGRES_URL, postgres_schema
from support.server import RunningServer

EXAMPLES = 20
SCHEMA = schemathesis.openapi.from_path(openapi.SPEC_PATH).exclude(path_regex=r"^/fine_tuning/alpha/")
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


@pytest.fixture(scope="module")
def base_url():
    """Its own server: fuzzed files (purpose evals among them) must not reach other tests' lists.
    On PostgreSQL when OPENFT_TEST_DATABASE_URL is set: the stricter store (no NUL in text)."""
    with contextlib.ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database = {"database_url": stack.enter_context(postgres_schema())} if POSTGRES_URL else {}
        config = Settings(data_dir=data_dir, validator_poll_seconds=0.2, embedded_worker=False, **database)
        server = RunningServer(config).start()
        stack.callback(server.stop)
        yield f"http://127.0.0.1:{server.port}/v1"


def check_response(case, response) -> None:
    described = f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    assert response.status_code < 500, described
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400:
        assert content_type.startswith("application/json"), described
        jsonschema.validate(json.loads(response.content), openapi.ERROR_SCHEMA)
    else:
        path = "/v1" + case.formatted_path
        openapi.check(case.method, path, response.status_code, content_type, response.content)


def test_the_fuzzed_surface_is_the_control_plane():
    paths = {label.split(" ", 1)[1].split("/")[1] for label in OPERATIONS}
    assert paths == {"files", "fine_tuning", "models", "uploads"}
    assert len(OPERATIONS) == 23


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("label", OPERATIONS)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_no_server_errors_and_every_error_is_an_envelope(base_url, label, mode, data):
    case = data.draw(OPERATIONS[label].as_strategy(generation_mode=mode))
    response = case.call(base_url=base_url, timeout=30)
    check_response(case, response)

"""The store's files under faults: a SQLite database that cannot be written fails requests with a 503
in OpenAI's envelope, GET /health says why, and the server lives on (an unwritable ``-shm`` file
used to kill it with SIGBUS: SQLite writes to that file through a memory map).

The server runs in its own process, so a crash is seen as a dead process, not a dead test run.
Making a file unwritable for root takes the immutable flag (``chattr +i``); without it, the test skips.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jsonschema
import pytest

from support.openapi import ERROR_SCHEMA


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(data_dir: Path):
    port = _free_port()
    env = {**os.environ, "OPENFT_EMBEDDED_WORKER": "false", "OPENFT_VALIDATOR_POLL_SECONDS": "0.2"}
    env.pop("OPENFT_DATABASE_URL", None)
    command = [sys.executable, "-m", "openft", "serve", "--data-dir", str(data_dir), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "openft serve did not start"
            with contextlib.suppress(httpx.TransportError):
                client.get("/health")
                break
            time.sleep(0.1)
        yield process, client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def immutable(path: Path):
    result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot make a file immutable here: {result.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def upload(client: httpx.Client) -> httpx.Response:
    return client.post("/v1/files", files={"file": ("a.txt", b"hello")}, data={"purpose": "assistants"})


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_an_unwritable_shm_file_is_a_503_and_the_server_survives(tmp_path):
    with serve(tmp_path) as (process, client):
        assert upload(client).status_code == 200
        assert client.get("/health").json()["status"] == "ok"
        shm = tmp_path / "openft.db-shm"
        assert shm.exists()
        with immutable(shm):
            for request in (lambda: upload(client), lambda: client.get("/v1/files")):
                response = request()
                assert response.status_code == 503, response.text
                jsonschema.validate(response.json(), ERROR_SCHEMA)
                error = response.json()["error"]
                assert (error["type"], error["code"]) == ("server_error", "database_unavailable")
                assert "openft.db-shm" in error["message"]
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "unavailable" and "openft.db-shm" in health.json()["database"]
            time.sleep(0.5)  # the validator and janitor threads poll the store meanwhile
            assert process.poll() is None, "the server died"
        assert upload(client).status_code == 200
        assert client.get("/health").status_code == 200
        assert process.poll() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_an_unwritable_database_file_is_a_503_naming_it(tmp_path):
    with serve(tmp_path) as (process, client):
        with immutable(tmp_path / "openft.db-wal"):
            response = upload(client)
            assert response.status_code == 503, response.text
            assert "openft.db-wal" in response.json()["error"]["message"]
            assert "openft.db-wal" in client.get("/health").json()["database"]
        assert upload(client).status_code == 200
        assert process.poll() is None


def test_health_reports_ok(server):
    response = httpx.get(f"http://127.0.0.1:{server.port}/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "storage": "ok"}

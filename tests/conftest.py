"""Shared fixtures: a real server per session (and custom ones on demand), strict SDK clients."""

from __future__ import annotations

import contextlib

import pytest

from openft.config import Settings
from support.clients import async_client, sync_client
from support.databases import backends, postgres_schema
from support.server import RunningServer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("openft-data")
    running = RunningServer(Settings(data_dir=data_dir, validator_poll_seconds=0.2, embedded_worker=False)).start()
    yield running
    running.stop()


@pytest.fixture
def client(server):
    with sync_client(server.url) as sdk:
        yield sdk


@pytest.fixture
async def aclient(server):
    sdk = async_client(server.url)
    yield sdk
    await sdk.close()


@pytest.fixture
def make_server(tmp_path):
    """make_server(backend="sqlite", **settings) -> a started RunningServer, stopped after the test."""
    stack = contextlib.ExitStack()
    count = 0

    def make(backend: str = "sqlite", **overrides) -> RunningServer:
        nonlocal count
        count += 1
        data_dir = tmp_path / f"server-{count}"
        if backend == "postgres":
            overrides.setdefault("database_url", stack.enter_context(postgres_schema()))
        overrides.setdefault("embedded_worker", False)
        settings = Settings(data_dir=data_dir, validator_poll_seconds=0.2, **overrides)
        running = RunningServer(settings).start()
        stack.callback(running.stop)
        return running

    with stack:
        yield make


@pytest.fixture(params=backends())
def backend(request):
    return request.param

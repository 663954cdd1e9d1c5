"""Fixtures for the serving tests: a server on the tiny random model with fine-tuned models of
every kind registered in the store, as training leaves them (two LoRA adapters, a checkpoint,
full weights, and a model of another project), and a client of the first project.

The tiny model's answers are gibberish but deterministic at temperature 0, which is what the
fast tests compare; the built-in model's real answers are the e2e tests' business.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.clients import sync_client
from support.server import RunningServer
from support.tiny_models import MODELS, register, save_adapter, save_full_model, tiny_settings


@pytest.fixture(scope="session")
def tiny_artifacts(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny-artifacts")
    return {
        "a": save_adapter(tiny_model_dir, root / "a", seed=1),
        "b": save_adapter(tiny_model_dir, root / "b", seed=2),
        "full": save_full_model(tiny_model_dir, root / "full", seed=3),
    }


@pytest.fixture(scope="session")
def tiny_server(tmp_path_factory, tiny_model_dir, tiny_artifacts):
    server = RunningServer(tiny_settings(tmp_path_factory.mktemp("serve-data"), tiny_model_dir)).start()
    register(server, MODELS.a, tiny_artifacts["a"])
    register(server, MODELS.b, tiny_artifacts["b"])
    register(server, MODELS.checkpoint, tiny_artifacts["a"], relative="jobs/ftjob-test/checkpoints/step-2")
    register(server, MODELS.full, tiny_artifacts["full"])
    register(server, MODELS.other_project, tiny_artifacts["a"], project="proj_b")
    yield server
    server.stop()


@pytest.fixture
def sdk(tiny_server):
    with sync_client(tiny_server.url, api_key="sk-a") as client:
        yield client


@pytest.fixture
def anyio_backend():
    return "asyncio"

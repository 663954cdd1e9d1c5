"""Shared fixtures: a real server per session (and custom ones on demand), strict SDK clients,
the built-in model's cache and a tiny random model with the real SmolLM2 tokenizer.

The built-in model is converted once into OPENFT_TEST_DATA_DIR, or else pytest's cache
directory (.pytest_cache, ignored by git), and reused by later runs (~35 s the first time).
"""

from __future__ import annotations

import contextlib
import gc
import os
from pathlib import Path

import pytest

from openft.config import Settings
from support.clients import async_client, sync_client
from support.databases import backends, postgres_schema
from support.server import RunningServer


@pytest.fixture
def unfrozen_heap():
    """For a test that settles the heap (openft.heap): the session's heap unfrozen again after it."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def data_dir(request, tmp_path_factory) -> Path:
    if os.environ.get("OPENFT_TEST_DATA_DIR"):
        return Path(os.environ["OPENFT_TEST_DATA_DIR"])
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    return Path(cache.mkdir("openft-train-data")) if cache else tmp_path_factory.mktemp("openft-train-data")


@pytest.fixture(scope="session")
def builtin_dir(data_dir) -> Path:
    from openft.lm.loading import builtin_model_dir

    return builtin_model_dir(data_dir)


@pytest.fixture(scope="session")
def tokenizer(builtin_dir):
    """The real SmolLM2 tokenizer as shipped (pad token still <|im_end|>)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(builtin_dir))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, builtin_dir, tokenizer) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's vocabulary, tokenizer and generation config."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig.from_pretrained(str(builtin_dir))
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("openft-data")
    running = RunningServer(
        Settings(
            data_dir=data_dir,
            validator_poll_seconds=0.2,
            embedded_worker=False,
            wandb_api_key="local-test-key",  # jobs with a wandb integration are accepted (none trains here)
        )
    ).start()
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
def make_server(tmp_path, request):
    """make_server(backend="sqlite", **settings) -> a started RunningServer, stopped after the test."""
    stack = contextlib.ExitStack()
    count = 0

    def make(backend: str = "sqlite", *, builtin: bool = False, **overrides) -> RunningServer:
        """``builtin=True`` shares the session's converted built-in model with the server."""
        nonlocal count
        count += 1
        data_dir = tmp_path / f"server-{count}"
        if builtin:
            data_dir.mkdir(parents=True)
            (data_dir / "models").symlink_to(
                request.getfixturevalue("builtin_dir").parent, target_is_directory=True
            )
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

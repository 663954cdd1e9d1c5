"""Fixtures for the training tests: JSONL writing, a Reporter that records what training tells
it, a tool-calling example, and servers whose worker trains on the tiny model. The built-in
model, its tokenizer and the tiny model live in tests/conftest.py, shared with every tier."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest


@pytest.fixture
def tiny_base_models(tiny_model_dir, tmp_path) -> dict:
    """Configured base models: "tiny" (the tiny model) and "broken" (a config that does not load)."""
    from openft.config import BaseModelConfig

    broken = tmp_path / "broken-model"
    broken.mkdir(exist_ok=True)
    (broken / "config.json").write_text("{this is not a model config")
    return {
        "tiny": BaseModelConfig(source=str(tiny_model_dir), context_length=256, base_learning_rate=1e-3),
        "broken": BaseModelConfig(source=str(broken)),
    }


@pytest.fixture
def tiny_server(make_server, tiny_base_models):
    """tiny_server(**settings) -> a started server with an embedded worker training the tiny models."""

    def start(**overrides):
        overrides.setdefault("embedded_worker", True)
        overrides.setdefault("shutdown_grace_seconds", 10)
        return make_server(
            base_models=tiny_base_models,
            model_aliases={},
            worker_poll_seconds=0.2,
            stop_grace_seconds=5,
            **overrides,
        )

    return start


@pytest.fixture
def write_jsonl(tmp_path):
    """write_jsonl(rows, name) -> path of a JSONL file holding the rows."""

    def write(rows: list[dict], name: str = "train.jsonl") -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return path

    return write


@dataclass
class RecordingReporter:
    """Records every call; ``stop_after`` maps a step to the should_stop answer given after it."""

    stop_after: dict[int, str] = field(default_factory=dict)
    events: list[tuple] = field(default_factory=list)
    last_step: int = 0

    def on_start(self, *, total_steps, steps_per_epoch, n_epochs):
        self.events.append(
            ("start", dict(total_steps=total_steps, steps_per_epoch=steps_per_epoch, n_epochs=n_epochs))
        )

    def on_step(self, step, metrics):
        self.last_step = step
        self.events.append(("step", step, dict(metrics)))

    def on_epoch_end(self, step, epoch, metrics):
        self.events.append(("epoch", step, epoch, dict(metrics)))

    def on_checkpoint(self, step, path, metrics):
        self.events.append(("checkpoint", step, Path(path), dict(metrics)))

    def on_warning(self, message):
        self.events.append(("warning", message))

    def on_note(self, message):
        self.events.append(("note", message))

    def should_stop(self):
        return self.stop_after.get(self.last_step)

    def of(self, kind: str) -> list[tuple]:
        return [event for event in self.events if event[0] == kind]


@pytest.fixture
def reporter() -> RecordingReporter:
    return RecordingReporter()


@pytest.fixture
def new_reporter():
    """new_reporter(stop_after={}) -> a fresh RecordingReporter, for tests that train more than once."""
    return RecordingReporter


@pytest.fixture
def tool_call_row() -> dict:
    """The OpenAI guide's tool-calling example, completed with the tool's result and an answer."""
    return {
        "messages": [
            {"role": "user", "content": "What is the weather in San Francisco?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_id",
                        "type": "function",
                        "function": {
                            "name": "get_current_weather",
                            "arguments": '{"location": "San Francisco, USA", "format": "celsius"}',
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_id", "content": "21.0"},
            {"role": "assistant", "content": "It is 21 degrees."},
        ],
        "parallel_tool_calls": False,
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "get_current_weather",
                    "description": "Get the current weather",
                    "parameters": {
                        "type": "object",
                        "properties": {
                            "location": {"type": "string"},
                            "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                        },
                        "required": ["location", "format"],
                    },
                },
            }
        ],
    }

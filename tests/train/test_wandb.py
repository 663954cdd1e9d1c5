"""Weights & Biases for real, offline: a job with a wandb integration logs a run named for the job,
with OpenAI's default tags, a config of model, files, hyperparameters and seed, and every metrics
event's values at its step, for all three methods. Read back from the run's own log file."""

from __future__ import annotations

from pathlib import Path

import openai
import pytest

from support.clients import sync_client
from support.data import chat_rows, preference_rows, step_metrics, upload, wait_for_status
from support.wandb_log import read_run

pytest.importorskip("wandb")
pytestmark = pytest.mark.train

REWARD_ROWS = [
    {"messages": [{"role": "user", "content": f"Say a word ({i})."}], "answer": "the"} for i in range(10)
]
GRADER = {
    "type": "string_check",
    "name": "has_the",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.answer }}",
    "operation": "ilike",
}
METHODS = {
    "supervised": (chat_rows(10), {"n_epochs": 1, "batch_size": 5}, {}),
    "dpo": (preference_rows(10), {"n_epochs": 1, "batch_size": 5}, {}),
    "reinforcement": (
        REWARD_ROWS,
        {"n_epochs": 1, "batch_size": 5, "compute_multiplier": 0.5, "reasoning_effort": "low"},
        {"grader": GRADER},
    ),
}


@pytest.fixture
def offline_wandb(monkeypatch, tmp_path) -> Path:
    directory = tmp_path / "wandb-runs"
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(directory))
    return directory


@pytest.mark.parametrize("method", list(METHODS))
def test_a_job_logs_its_run_config_tags_and_every_step(method, tiny_server, offline_wandb):
    rows, hyperparameters, extra = METHODS[method]
    server = tiny_server(wandb_api_key="local-0123456789abcdef0123456789abcdef01234567")
    integration = {"project": "geo", "name": "my run", "tags": ["mine"]}
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, rows),
            seed=7,
            method={"type": method, method: {"hyperparameters": hyperparameters, **extra}},
            integrations=[{"type": "wandb", "wandb": integration}],
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=600)
        assert done.status == "succeeded", done.error
        events = step_metrics(client, job.id)

    (run_dir,) = (offline_wandb / "wandb").glob(f"offline-run-*-{job.id}")
    run = read_run(run_dir)
    assert (run.run_id, run.name, run.project) == (job.id, "my run", "geo")
    assert run.tags == ["openai/finetune", "openai/tiny", f"openai/{job.id}", "mine"]
    assert run.config["model"] == "tiny" and run.config["seed"] == 7
    assert run.config["training_file"] == job.training_file and run.config["method"] == method
    assert run.config["hyperparameters"]["batch_size"] == 5
    logged = {row["_step"]: row for row in run.history}
    assert sorted(logged) == [event["step"] for event in events]
    for event in events:
        for name, value in event.items():
            if isinstance(value, float):
                assert logged[event["step"]][name] == pytest.approx(value), name
    if method == "reinforcement":
        assert "scores/graders/has_the/train_reward_mean" in logged[1]


def test_a_wandb_integration_without_a_key_is_refused_naming_integrations(make_server):
    server = make_server()
    with sync_client(server.url) as client:
        file_id = upload(client, chat_rows(10))
        with pytest.raises(openai.BadRequestError) as refused:
            client.fine_tuning.jobs.create(
                model="gpt-4o-mini",
                training_file=file_id,
                integrations=[{"type": "wandb", "wandb": {"project": "p"}}],
            )
    assert refused.value.param == "integrations" and "OPENFT_WANDB_API_KEY" in refused.value.message


def test_metrics_flatten_into_run_history_keys():
    from openft.train.wandb_run import flat_numbers

    metrics = {
        "train_loss": 1.5,
        "scores": {"graders": [{"name": "g", "type": "string_check", "train_reward_mean": 0.25}]},
        "usage": {"graders": [{"name": "g", "model": "judge", "train_prompt_tokens_count": 12.0}]},
        "flag": True,
    }
    assert flat_numbers(metrics) == {
        "train_loss": 1.5,
        "scores/graders/g/train_reward_mean": 0.25,
        "usage/graders/judge/train_prompt_tokens_count": 12.0,
    }

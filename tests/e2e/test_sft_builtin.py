"""The whole supervised path on the built-in SmolLM2-135M-Instruct, driven by the official SDK:
upload, create, poll to succeeded, then events (loss falls), checkpoints, result file, models."""

from __future__ import annotations

import base64
import csv
import io

import pytest

from support.clients import sync_client
from support.data import upload, wait_for_status

pytestmark = pytest.mark.e2e


def rows(n: int = 12) -> list[dict]:
    cities = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna"]
    countries = ["France", "Germany", "Spain", "Italy", "Portugal", "Austria"]
    return [
        {
            "messages": [
                {"role": "system", "content": "You are Atlas, a terse geography bot."},
                {"role": "user", "content": f"Capital of {countries[i % 6]}?"},
                {"role": "assistant", "content": f"Atlas says: {cities[i % 6]}."},
            ]
        }
        for i in range(n)
    ]


def test_supervised_job_on_the_builtin_model(make_server):
    server = make_server(builtin=True, embedded_worker=True, worker_poll_seconds=0.2)
    with sync_client(server.url) as client:
        training = upload(client, rows(12))
        validation = upload(client, rows(6), filename="valid.jsonl")
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini",
            training_file=training,
            validation_file=validation,
            suffix="atlas",
            seed=3,
            method={
                "type": "supervised",
                "supervised": {
                    "hyperparameters": {"n_epochs": 3, "batch_size": 4, "learning_rate_multiplier": 5}
                },
            },
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=1200)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:openft:atlas:")
        assert (
            done.trained_tokens > 0 and done.finished_at >= done.created_at and done.estimated_finish is None
        )
        assert done.hyperparameters.batch_size == 4 and done.hyperparameters.learning_rate_multiplier == 5

        events = list(reversed(client.fine_tuning.jobs.list_events(job.id, limit=100).data))
        steps = [e.data for e in events if e.type == "metrics"]
        assert [s["step"] for s in steps] == list(range(1, 10)) and all(s["total_steps"] == 9 for s in steps)
        assert steps[-1]["train_loss"] < steps[0]["train_loss"]  # it learns
        assert "full_valid_loss" in steps[2] and "full_valid_mean_token_accuracy" in steps[-1]
        assert steps[-1]["full_valid_loss"] < steps[2]["full_valid_loss"]
        messages = [e.message for e in events]
        assert messages[-2:] == [
            f"New fine-tuned model created: {done.fine_tuned_model}",
            "The job has successfully completed",
        ]
        assert messages[3] == "Fine-tuning job started"

        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in checkpoints] == [6, 3]
        assert all(c.fine_tuned_model_checkpoint.endswith(f":ckpt-step-{c.step_number}") for c in checkpoints)
        assert checkpoints[0].metrics.full_valid_loss is not None

        result = client.files.retrieve(done.result_files[0])
        assert (result.purpose, result.filename) == ("fine-tune-results", "step_metrics.csv")
        table = list(
            csv.DictReader(io.StringIO(base64.b64decode(client.files.content(result.id).read()).decode()))
        )
        assert [int(r["step"]) for r in table] == list(range(1, 10))
        assert float(table[0]["train_loss"]) == pytest.approx(steps[0]["train_loss"], abs=1e-4)

        models = {m.id for m in client.models.list()}
        assert done.fine_tuned_model in models and checkpoints[0].fine_tuned_model_checkpoint in models

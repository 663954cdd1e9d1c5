"""The whole RFT path on the built-in SmolLM2-135M-Instruct, driven by the official SDK in strict
mode: a string_check grader rewards answers naming Paris to ways of asking for France's capital,
which the base model, sampled at temperature 1, gets right in some of its samples but not all.
The train reward rises, the final validation reward beats the step-0 one, a checkpoint is
kept from the middle evaluation, the result file has a row per step, and the tuned model answers
through chat.completions."""

from __future__ import annotations

import base64
import csv
import io
from statistics import fmean

import pytest

from support.clients import sync_client
from support.data import step_metrics, upload, wait_for_status

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]

SYSTEM = {"role": "system", "content": "You are Atlas, a terse geography bot."}
QUESTIONS = [
    "What is the capital of France?",
    "Which city is the capital of France?",
    "Name the capital city of France.",
    "France's capital is which city?",
    "Tell me the capital of France.",
    "What city is France's capital?",
    "Capital of France?",
    "What is France's capital city?",
    "Which city serves as the capital of France?",
    "In which city is the capital of France?",
    "What's the capital of France?",
    "Do you know the capital of France?",
    "France: what is its capital?",
]
GRADER = {
    "type": "string_check",
    "name": "names_paris",
    "input": "{{ sample.output_text }}",
    "reference": "{{ item.city }}",
    "operation": "ilike",
}


def rows(questions) -> list[dict]:
    return [{"messages": [SYSTEM, {"role": "user", "content": q}], "city": "Paris"} for q in questions]


def test_rft_job_on_the_builtin_model(make_server):
    from openft.config import BUILTIN_MODEL, BaseModelConfig

    # Prompts are 28-33 tokens: a 64-token window leaves ~31 for an answer ("The capital of France
    # is Paris." is 7), so a rambling sample is cut (and flagged truncated) instead of running on.
    short = {BUILTIN_MODEL: BaseModelConfig(context_length=64)}
    server = make_server(builtin=True, embedded_worker=True, worker_poll_seconds=0.2, base_models=short)
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="o4-mini",
            training_file=upload(client, rows(QUESTIONS[:10])),
            validation_file=upload(client, rows(QUESTIONS[10:]), filename="valid.jsonl"),
            suffix="paris",
            seed=1,
            method={
                "type": "reinforcement",
                "reinforcement": {
                    "grader": GRADER,
                    "hyperparameters": {
                        "n_epochs": 1,
                        "batch_size": 2,
                        "learning_rate_multiplier": 10,
                        "compute_multiplier": 1,
                        "eval_interval": 3,
                        "eval_samples": 3,
                        "reasoning_effort": "low",
                    },
                },
            },
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=2300)
        assert done.status == "succeeded", done.error
        assert done.method.reinforcement.hyperparameters.compute_multiplier == 1

        steps = step_metrics(client, job.id)
        assert [s["step"] for s in steps] == [0, 1, 2, 3, 4, 5]
        valid = {s["step"]: s["full_valid_mean_reward"] for s in steps if "full_valid_mean_reward" in s}
        assert list(valid) == [0, 3, 5]
        assert 0 < valid[0] < 1  # the base model is right in some samples, not all
        train = [s["train_mean_reward"] for s in steps[1:]]
        assert fmean(train[-2:]) > fmean(train[:2])  # the train reward rises
        assert valid[5] > valid[0]  # and so does the reward on questions it never trained on

        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in checkpoints] == [3]
        assert checkpoints[0].metrics.to_dict()["full_valid_mean_reward"] == valid[3]
        table = list(
            csv.DictReader(
                io.StringIO(base64.b64decode(client.files.content(done.result_files[0]).read()).decode())
            )
        )
        assert [int(row["step"]) for row in table] == [0, 1, 2, 3, 4, 5]

        reply = client.chat.completions.create(
            model=done.fine_tuned_model,
            messages=[SYSTEM, {"role": "user", "content": "What is the capital of France?"}],
            max_tokens=24,
            temperature=0,
        )
        assert "Paris" in reply.choices[0].message.content, reply

"""The whole DPO path on the built-in SmolLM2-135M-Instruct, driven by the official SDK: a small
preference set (answer as "Atlas says: <city>." rather than hedge), trained until the model
prefers the preferred answers more than the base did (reward margin and accuracy rise), then
events, checkpoints, the result file, and chat completions with the tuned model (the preference
moved probabilities, measured by the rewards; its greedy answer names the city as the base did,
or already the persona the preferred answers use)."""

from __future__ import annotations

import base64
import csv
import io

import pytest

from support.clients import sync_client
from support.data import step_metrics, upload, wait_for_status

pytestmark = pytest.mark.e2e

CITIES = [
    "Paris",
    "Berlin",
    "Madrid",
    "Rome",
    "Lisbon",
    "Vienna",
    "Athens",
    "Dublin",
    "Oslo",
    "Prague",
    "Warsaw",
    "Budapest",
    "Helsinki",
]
COUNTRIES = [
    "France",
    "Germany",
    "Spain",
    "Italy",
    "Portugal",
    "Austria",
    "Greece",
    "Ireland",
    "Norway",
    "Czechia",
    "Poland",
    "Hungary",
    "Finland",
]
SYSTEM = {"role": "system", "content": "You are Atlas, a terse geography bot."}


def pairs(indices) -> list[dict]:
    return [
        {
            "input": {"messages": [SYSTEM, {"role": "user", "content": f"Capital of {COUNTRIES[i]}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"Atlas says: {CITIES[i]}."}],
            "non_preferred_output": [
                {"role": "assistant", "content": f"I am not sure. Maybe {CITIES[(i + 1) % len(CITIES)]}?"}
            ],
        }
        for i in indices
    ]


def test_dpo_job_on_the_builtin_model(make_server):
    server = make_server(builtin=True, embedded_worker=True, worker_poll_seconds=0.2)
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini",
            training_file=upload(client, pairs(range(10))),
            suffix="atlas",
            seed=3,
            validation_file=upload(client, pairs(range(10, 13)), filename="valid.jsonl"),
            method={"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2, "batch_size": 5}}},
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=1200)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model.startswith("ft:gpt-4o-mini-2024-07-18:openft:atlas:")
        assert done.method.dpo.hyperparameters.beta == 0.1 and done.hyperparameters.batch_size == 5

        steps = step_metrics(client, job.id)
        assert [s["step"] for s in steps] == [1, 2, 3, 4] and all(s["total_steps"] == 4 for s in steps)
        margins = [s["train_reward_margin"] for s in steps]
        accuracies = [s["train_reward_accuracy"] for s in steps]
        assert (
            margins[0] == 0 == accuracies[0]
        )  # the first batch meets the model as it started: the reference
        assert (
            margins[-1] > margins[1] > 0 and accuracies[-1] == 1
        )  # it prefers the preferred answers more and more
        assert steps[-1]["full_valid_reward_margin"] > steps[1]["full_valid_reward_margin"] > 0
        assert steps[-1]["full_valid_reward_accuracy"] > 0.5  # and so on pairs it never trained on

        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in checkpoints] == [2]
        assert (
            checkpoints[0].metrics.to_dict()["full_valid_reward_margin"]
            == steps[1]["full_valid_reward_margin"]
        )
        result = client.files.retrieve(done.result_files[0])
        table = list(
            csv.DictReader(io.StringIO(base64.b64decode(client.files.content(result.id).read()).decode()))
        )
        assert [int(row["step"]) for row in table] == [1, 2, 3, 4]
        assert float(table[-1]["train_reward_margin"]) == pytest.approx(margins[-1], abs=1e-4)

        reply = client.chat.completions.create(
            model=done.fine_tuned_model,
            messages=[SYSTEM, {"role": "user", "content": "Capital of France?"}],
            max_tokens=64,
            temperature=0,
        )
        # The rewarded answer names the persona and the city. In float32 the greedy answer is still
        # the base model's ("... The capital of France is Paris ..."); in bfloat16 it already leans
        # to the persona ("Bien sûr, I am Atlas, a geography bot ...").
        answer = reply.choices[0].message.content
        assert ("Paris" in answer or "Atlas" in answer) and reply.usage.completion_tokens > 0, reply

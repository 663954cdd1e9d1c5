"""`openft jobs follow`: a job's events and progress until it ends, against a running server,
configured as the openai CLI is (OPENAI_BASE_URL, OPENAI_API_KEY)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from support.clients import sync_client
from support.data import chat_rows, upload

pytestmark = pytest.mark.train


def follow(server, job_id: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPENAI_BASE_URL": server.url, "OPENAI_API_KEY": "sk-test"}
    command = [sys.executable, "-m", "openft", "jobs", "follow", job_id, "--poll-seconds", "0.3"]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_follow_shows_progress_and_prints_the_model_when_the_job_succeeds(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, chat_rows(10)),
            method={
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 5}},
            },
        )
        done = follow(server, job.id)
        model = client.fine_tuning.jobs.retrieve(job.id).fine_tuned_model

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == model
    bars = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert [bar.split()[1] for bar in bars] == ["1/4", "2/4", "3/4", "4/4"]
    assert all(" loss " in bar for bar in bars)
    assert "Validating training file" in done.stderr and f"succeeded: {model}" in done.stderr
    assert done.stderr.count("Fine-tuning job started") == 1  # each event once


def test_follow_exits_non_zero_with_the_error_when_the_job_fails(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(model="broken", training_file=upload(client, chat_rows(10)))
        done = follow(server, job.id)

    assert done.returncode == 1 and done.stdout == ""
    assert "failed (" in done.stderr.splitlines()[-1]


def test_the_progress_bar_shows_step_reward_and_time_left():
    from openft.follow import progress_bar

    bar = progress_bar({"step": 5, "total_steps": 10, "train_mean_reward": 0.5}, estimated_finish=190, now=0)
    assert bar == "[############------------]     5/10  reward 0.500  ~3m10s left"

"""Training jobs end to end on a tiny model: the worker, the training process and the store,
driven through the official SDK. Cancel, crashes, two workers on one database, seeds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from openft.lm import numerics
from support.clients import sync_client
from support.data import chat_rows, upload, wait_for_metrics, wait_for_no_training, wait_for_status
from support.data import step_metrics as metrics

pytestmark = pytest.mark.train


def test_tiny_job_succeeds_with_model_checkpoints_and_results(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, chat_rows(10)),
            suffix="t",
            method={
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 3, "batch_size": 5}},
            },
        )
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=300)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model.startswith("ft:tiny:openft:t:") and done.trained_tokens > 0
        assert done.hyperparameters.n_epochs == 3 and done.method.supervised.hyperparameters.batch_size == 5
        assert [m["step"] for m in metrics(client, job.id)] == [1, 2, 3, 4, 5, 6]
        steps = [c.step_number for c in client.fine_tuning.jobs.checkpoints.list(job.id)]
        assert steps == [4, 2]  # epoch ends, newest first; the final epoch is the model itself
        assert done.fine_tuned_model in {m.id for m in client.models.list()}
        assert_long_steps_shown(client, job.id)
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert numerics.choose().describe() in messages  # which device and dtype trained it


def assert_long_steps_shown(client, job_id: str) -> None:
    """The steps of a run that can take a while are events, each shown when it starts and ends."""
    events = client.fine_tuning.jobs.list_events(job_id, limit=1000).data[::-1]
    messages = [event.message for event in events if event.level == "info"]
    for doing in (
        "Loading the training libraries",
        "Loading the model tiny",
        "Tokenizing the training file",
        "Saving the checkpoint of step 2",
        "Saving the fine-tuned model",
    ):
        start = messages.index(doing)
        assert messages[start + 1 :].count(doing) == 0
        assert any(m.startswith(f"{doing}: done in ") for m in messages[start + 1 :]), doing
    assert messages.index("Tokenizing the training file") < messages.index(
        next(m for m in messages if m.startswith("Step 1/"))
    )


def test_cancel_stops_training_within_seconds_and_keeps_events(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, chat_rows(200)),
            method={
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 20, "batch_size": 1}},
            },
        )
        wait_for_metrics(client, job.id)
        cancelled = client.fine_tuning.jobs.cancel(job.id)
        assert cancelled.status == "cancelled"
        wait_for_no_training(server, timeout=15)
        after = len(metrics(client, job.id))
        time.sleep(1)
        assert len(metrics(client, job.id)) == after  # nothing trains any more
        final = client.fine_tuning.jobs.retrieve(job.id)
        assert final.status == "cancelled" and final.fine_tuned_model is None
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert "Fine-tuning job cancelled" in messages and any(m.startswith("Step 1/4000") for m in messages)


def test_pause_snapshots_and_resume_continues_from_the_same_step(tiny_server):
    import base64

    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, chat_rows(200)),
            method={
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4}},
            },
        )
        wait_for_metrics(client, job.id)
        paused = client.fine_tuning.jobs.with_raw_response.pause(job.id).http_response.json()
        assert paused["status"] == "paused"
        wait_for_no_training(server, timeout=30)
        snapshot = client.fine_tuning.jobs.checkpoints.list(job.id).data[0]
        assert snapshot.fine_tuned_model_checkpoint.endswith(f":ckpt-step-{snapshot.step_number}")
        assert snapshot.fine_tuned_model_checkpoint in {m.id for m in client.models.list()}
        assert client.fine_tuning.jobs.resume(job.id).status == "queued"
        done = wait_for_status(
            client, job.id, {"succeeded", "failed"}, timeout=900
        )  # 98 steps: slow on a loaded machine
        assert done.status == "succeeded", done.error
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert f"Resuming training from step {snapshot.step_number}, where the job was paused" in messages
        steps = [m["step"] for m in metrics(client, job.id)]
        assert steps == list(range(1, 101))  # no step trained twice, none skipped
        csv_text = base64.b64decode(client.files.content(done.result_files[0]).read()).decode()
        lines = csv_text.splitlines()
        assert (
            lines[0] == "step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy"
            and len(lines) == 101
        )


def test_training_crash_fails_the_job_and_the_server_keeps_serving(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(model="broken", training_file=upload(client, chat_rows(10)))
        failed = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=180)
        assert failed.status == "failed" and failed.error.code == "training_failed"
        assert (
            failed.error.message.startswith("Training failed: ") and "Traceback" not in failed.error.message
        )
        events = client.fine_tuning.jobs.list_events(job.id).data
        assert events[0].level == "error" and events[0].message == failed.error.message
        assert any(e.message == "Fine-tuning job started" for e in events)
        assert client.models.list().data  # still serving


def test_same_seed_gives_identical_losses(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        training = upload(client, chat_rows(12))
        hyper = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "batch_size": 4}}}
        jobs = [
            client.fine_tuning.jobs.create(model="tiny", training_file=training, seed=seed, method=hyper).id
            for seed in (7, 7, 8)
        ]
        for job_id in jobs:
            assert wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=300).status == "succeeded"
        losses = [[m["train_loss"] for m in metrics(client, job_id)] for job_id in jobs]
        assert losses[0] == losses[1]
        assert losses[0] != losses[2]


def test_two_workers_on_one_database_never_run_the_same_job(make_server, tiny_base_models):
    models = tiny_base_models
    server = make_server(base_models=models, model_aliases={}, embedded_worker=False)
    env = {
        **os.environ,
        "OPENFT_DATA_DIR": str(server.settings.data_dir),
        "OPENFT_DATABASE_URL": server.settings.resolved_database_url,
        "OPENFT_BASE_MODELS": json.dumps({k: v.model_dump() for k, v in models.items()}),
        "OPENFT_MODEL_ALIASES": "{}",
        "OPENFT_WORKER_POLL_SECONDS": "0.1",
    }
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "openft", "worker"], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        with sync_client(server.url) as client:
            training = upload(client, chat_rows(10))
            hyper = {
                "type": "supervised",
                "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 5}},
            }
            jobs = [
                client.fine_tuning.jobs.create(model="tiny", training_file=training, method=hyper).id
                for _ in range(4)
            ]
            for job_id in jobs:
                assert (
                    wait_for_status(client, job_id, {"succeeded", "failed"}, timeout=400).status
                    == "succeeded"
                )
                started = [
                    e
                    for e in client.fine_tuning.jobs.list_events(job_id, limit=100)
                    if e.message == "Fine-tuning job started"
                ]
                assert len(started) == 1
        from openft.store import jobs as job_store

        with server.services.db.read() as session:
            rows = [job_store.get_job_any_project(session, job_id=job_id) for job_id in jobs]
        assert all(row.attempts == 1 for row in rows)
    finally:
        for worker in workers:
            worker.terminate()
        logs = [worker.communicate(timeout=60)[1] for worker in workers]
    claimed_by = {row.worker_id for row in rows}
    assert len(claimed_by) >= 1 and all(("Traceback" not in log) for log in logs), logs

"""Recovery on a tiny model, through the official SDK: whatever dies while a job trains (its
training process, its worker, the whole server: SIGKILL), the job continues from its latest saved
state and finishes once, with each step, checkpoint and model recorded once and, on CPU with the
same seed, the very weights an uninterrupted run of the same job makes. The same after SIGTERM
shutdown and restart, and after pause and resume."""

from __future__ import annotations

import os
import signal
import time

import pytest

from support.clients import sync_client
from support.data import chat_rows, preference_rows, prompt_rows, step_metrics, upload, wait_for_status
from support.processes import OpenftProcess, openft_env, wait_for_standby, wait_until_gone
from support.recovery import (
    DPO,
    RFT,
    SEED,
    SFT,
    assert_finished_once,
    assert_same_model,
    messages,
    wait_for_state,
)

pytestmark = pytest.mark.train
METHODS = {"supervised": (SFT, chat_rows), "dpo": (DPO, preference_rows), "reinforcement": (RFT, prompt_rows)}
RECOVERY = dict(state_interval_steps=2, heartbeat_seconds=0.5, stale_after_seconds=3)


def create(client, method: str, file_id: str, validation_file: str | None = None) -> str:
    return client.fine_tuning.jobs.create(
        model="tiny",
        training_file=file_id,
        validation_file=validation_file,
        seed=SEED,
        method=METHODS[method][0],
    ).id


def rows(method: str) -> list[dict]:
    return METHODS[method][1](12)


@pytest.mark.parametrize("method", ["supervised", "dpo", "reinforcement"])
def test_a_killed_training_process_resumes_from_its_latest_state(tiny_server, method):
    """For RFT with its evaluations and checkpoints by validation reward too: the same samples,
    rewards and final weights as the run that was not killed."""
    server = tiny_server(max_concurrent_jobs=2, **RECOVERY)
    data_dir, worker = server.settings.data_dir, server.app.state.worker.worker
    with sync_client(server.url) as client:
        file_id = upload(client, rows(method))
        valid = (
            upload(client, rows(method)[:2], filename="valid.jsonl") if method == "reinforcement" else None
        )
        job_id, reference = create(client, method, file_id, valid), create(client, method, file_id, valid)
        saved = wait_for_state(data_dir, job_id)
        trainer = worker.children[job_id].process
        os.kill(trainer.pid, signal.SIGKILL)
        trainer.wait(timeout=30)
        for done in (job_id, reference):
            wait_for_status(client, done, {"succeeded", "failed"}, timeout=400)
        assert_finished_once(client, data_dir, job_id, method)
        events = messages(client, job_id)
        assert (
            "The training process was killed by signal 9 before the job finished; it will continue "
            "from its latest saved state; the job was put back in the queue." in events
        )
        resumed = [m for m in events if m.startswith("Resuming training from step ")]
        assert len(resumed) == 1 and int(resumed[0].split()[4].rstrip(",")) >= saved
        assert step_figures(client, job_id) == step_figures(client, reference)
        assert_same_model(data_dir, job_id, data_dir, reference)


def step_figures(client, job_id: str) -> list[tuple]:
    """Each step's loss, and for RFT its rewards: what a rerun of a step would change."""
    keys = ("step", "train_loss", "train_mean_reward", "full_valid_mean_reward")
    return [tuple(data.get(key) for key in keys) for data in step_metrics(client, job_id)]


def test_a_killed_worker_takes_its_trainer_along_and_another_worker_resumes(make_server, tiny_base_models):
    server = make_server(base_models=tiny_base_models, model_aliases={}, embedded_worker=False)
    data_dir = server.settings.data_dir
    # two standby trainers, started before the job: one of them is still waiting while it trains
    env = openft_env(data_dir, tiny_base_models, max_concurrent_jobs=2, standby_trainers=2, **RECOVERY)
    first = OpenftProcess("worker", env, data_dir / "worker-1.log")
    second = None
    try:
        with sync_client(server.url) as client:
            wait_for_standby(first)
            # 60 examples (90 steps): still training when the worker is killed
            job_id = create(client, "supervised", file_id := upload(client, chat_rows(60)))
            wait_for_state(data_dir, job_id)
            (trainer,) = first.trainers()
            standby = first.standby()
            assert standby
            first.signal(signal.SIGKILL)
            first.wait(timeout=30)
            for pid in (trainer, *standby):
                wait_until_gone(pid, timeout=10)  # they died with their worker
            reference = create(client, "supervised", file_id)
            second = OpenftProcess("worker", env, data_dir / "worker-2.log")
            for done in (job_id, reference):
                wait_for_status(client, done, {"succeeded", "failed"}, timeout=400)
            assert_finished_once(client, data_dir, job_id, "supervised", steps=90)
            assert any("stopped responding" in m for m in messages(client, job_id))
            assert_same_model(data_dir, job_id, data_dir, reference)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def plant_torn_leftovers(job_dir) -> None:
    """What a process killed in the middle of writing leaves: a state the Trainer was writing, a
    checkpoint being saved, and a states/ folder that was never published."""
    (job_dir / "scratch" / "checkpoint-99").mkdir(parents=True)
    (job_dir / "scratch" / "checkpoint-99" / "optimizer.pt").write_bytes(b"torn")
    (job_dir / "checkpoints" / ".step-10.abcd1234").mkdir(parents=True)
    (job_dir / "checkpoints" / ".step-10.abcd1234" / "adapter_model.safetensors").write_bytes(b"torn")
    (job_dir / "states" / "step-11").mkdir(parents=True)


def test_a_killed_server_leaves_no_trainer_and_its_restart_resumes_ignoring_torn_files(
    tmp_path, tiny_base_models
):
    data_dir = tmp_path / "data"
    env = openft_env(data_dir, tiny_base_models, max_concurrent_jobs=2, **RECOVERY)
    first = OpenftProcess("serve", env, tmp_path / "serve-1.log").ready()
    second = None
    try:
        with sync_client(first.url) as client:
            job_id = create(client, "dpo", file_id := upload(client, rows("dpo")))
            wait_for_state(data_dir, job_id)
            (trainer,) = first.trainers()
        first.signal(signal.SIGKILL)
        first.wait(timeout=30)
        wait_until_gone(trainer, timeout=10)
        job_dir = data_dir / "jobs" / job_id
        plant_torn_leftovers(job_dir)
        second = OpenftProcess("serve", env, tmp_path / "serve-2.log").ready()
        with sync_client(second.url) as client:
            reference = create(client, "dpo", file_id)
            for done in (job_id, reference):
                wait_for_status(client, done, {"succeeded", "failed"}, timeout=400)
            assert_finished_once(client, data_dir, job_id, "dpo")
            resumed = [m for m in messages(client, job_id) if m.startswith("Resuming training")]
            assert len(resumed) == 1 and "step 11" not in resumed[0]
            assert not (job_dir / "checkpoints" / ".step-10.abcd1234").exists()
            assert not (job_dir / "scratch").exists() and not (job_dir / "states").exists()
            assert_same_model(data_dir, job_id, data_dir, reference)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_sigterm_saves_the_state_requeues_and_the_restart_continues_from_it(tmp_path, tiny_base_models):
    data_dir = tmp_path / "data"
    env = openft_env(data_dir, tiny_base_models, max_concurrent_jobs=2, **RECOVERY)
    first = OpenftProcess("serve", env, tmp_path / "serve-1.log").ready()
    second = None
    try:
        with sync_client(first.url) as client:
            job_id = create(client, "supervised", file_id := upload(client, rows("supervised")))
            wait_for_state(data_dir, job_id)
            (trainer,) = first.trainers()
        started = time.monotonic()
        first.signal(signal.SIGTERM)
        first.wait(timeout=60)
        assert time.monotonic() - started < 45  # shutdown_grace_seconds (30) and a little
        wait_until_gone(trainer, timeout=5)
        second = OpenftProcess("serve", env, tmp_path / "serve-2.log").ready()
        with sync_client(second.url) as client:
            events = messages(client, job_id)
            assert (
                "The worker shut down (its training process saved its state); "
                "the job was put back in the queue." in events
            )
            last_step = max(int(m.split("/")[0].split()[1]) for m in events if m.startswith("Step "))
            reference = create(client, "supervised", file_id)
            for done in (job_id, reference):
                wait_for_status(client, done, {"succeeded", "failed"}, timeout=400)
            assert_finished_once(client, data_dir, job_id, "supervised")
            assert f"Resuming training from step {last_step}, its latest saved state" in messages(
                client, job_id
            )
            assert_same_model(data_dir, job_id, data_dir, reference)
    finally:
        first.stop()
        if second is not None:
            second.stop()


def test_a_second_sigterm_does_not_wait_for_the_trainer(make_server, tiny_base_models):
    server = make_server(base_models=tiny_base_models, model_aliases={}, embedded_worker=False)
    data_dir = server.settings.data_dir
    env = openft_env(data_dir, tiny_base_models, shutdown_grace_seconds=120, **RECOVERY)
    worker = OpenftProcess("worker", env, data_dir / "worker.log")
    try:
        with sync_client(server.url) as client:
            job_id = create(client, "supervised", upload(client, chat_rows(200)))
            wait_for_state(data_dir, job_id)
            (trainer,) = worker.trainers()
            os.kill(trainer, signal.SIGSTOP)  # a trainer that cannot save in time
            worker.signal(signal.SIGTERM)
            time.sleep(1)
            assert worker.process.poll() is None  # it waits for the trainer to save
            started = time.monotonic()
            worker.signal(signal.SIGTERM)
            worker.wait(timeout=30)
            assert time.monotonic() - started < 10
            wait_until_gone(trainer, timeout=5)
            job = client.fine_tuning.jobs.retrieve(job_id)
            assert job.status == "queued"
            assert messages(client, job_id)[-1] == (
                "The worker shut down (its training process was killed by signal 9); "
                "the job was put back in the queue."
            )
    finally:
        worker.stop()


def test_pause_and_resume_end_with_the_same_model_and_the_pause_checkpoint_kept(tiny_server):
    server = tiny_server(max_concurrent_jobs=2, **RECOVERY)
    data_dir = server.settings.data_dir
    with sync_client(server.url) as client:
        file_id = upload(client, rows("dpo"))
        job_id, reference = create(client, "dpo", file_id), create(client, "dpo", file_id)
        wait_for_state(data_dir, job_id)
        paused = client.fine_tuning.jobs.with_raw_response.pause(job_id).http_response.json()
        assert paused["status"] == "paused"  # not in the SDK's enum: read raw
        while job_id in server.app.state.worker.worker.children:
            time.sleep(0.1)
        snapshot = client.fine_tuning.jobs.checkpoints.list(job_id).data[0]
        client.fine_tuning.jobs.resume(job_id)
        for done in (job_id, reference):
            wait_for_status(client, done, {"succeeded", "failed"}, timeout=400)
        assert_finished_once(client, data_dir, job_id, "dpo")
        kept = {c.fine_tuned_model_checkpoint for c in client.fine_tuning.jobs.checkpoints.list(job_id)}
        assert snapshot.fine_tuned_model_checkpoint in kept
        reply = client.chat.completions.create(
            model=snapshot.fine_tuned_model_checkpoint,
            messages=[{"role": "user", "content": "Greet me"}],
            max_tokens=2,
        )
        assert reply.choices[0].message.content is not None
        assert_same_model(data_dir, job_id, data_dir, reference)

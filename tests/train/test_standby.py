"""Standby trainers: a worker starts a training process ahead, with the ML stack imported, and
hands it the next job; the job trains in it as in a process started for it, a new one takes its
place, and a standby that died is replaced without holding any job up. A real `openft worker`."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from support.clients import sync_client
from support.data import chat_rows, upload, wait_for_metrics, wait_for_status
from support.processes import (
    OpenftProcess,
    openft_env,
    wait_for_ready_standby,
    wait_for_standby,
    wait_until_gone,
)

pytestmark = pytest.mark.train
SFT = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 5}}}


def wait_for_trainer(worker: OpenftProcess, timeout: float = 120) -> int:
    deadline = time.monotonic() + timeout
    while not (trainers := worker.trainers()):
        assert time.monotonic() < deadline, worker.log()
        time.sleep(0.05)
    (trainer,) = trainers
    return trainer


@pytest.fixture
def server_and_worker(make_server, tiny_base_models):
    """(an API server, and a real `openft worker` on its database and data dir)."""
    server = make_server(base_models=tiny_base_models, model_aliases={}, embedded_worker=False)
    data_dir = server.settings.data_dir
    worker = OpenftProcess("worker", openft_env(data_dir, tiny_base_models), data_dir / "worker.log")
    try:
        yield server, worker
    finally:
        worker.stop()


def train_one_job(server, worker: OpenftProcess) -> tuple[str, int]:
    """(job id, its trainer's pid) of a small SFT job that succeeded."""
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny", training_file=upload(client, chat_rows(10)), method=SFT
        )
        trainer = wait_for_trainer(worker)
        done = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=300)
        assert done.status == "succeeded", done.error
    return job.id, trainer


def test_the_next_job_trains_in_the_standby_trainer_and_another_takes_its_place(server_and_worker):
    server, worker = server_and_worker
    standby = wait_for_ready_standby(worker)
    job_id, trainer = train_one_job(server, worker)
    assert trainer == standby  # the process started ahead ran the job
    with sync_client(server.url) as client:
        events = [e.message for e in client.fine_tuning.jobs.list_events(job_id, limit=100)]
    assert any(m.startswith("Loading the training libraries: done in 0.") for m in events)
    log = server.settings.data_dir / "jobs" / job_id / "train.log"
    assert "train_runtime" in log.read_text()  # the Trainer's output went to the job's log
    wait_until_gone(standby, timeout=60)  # used once: it exits with its job
    (replacement,) = wait_for_standby(worker)  # started once the worker trains nothing
    assert replacement != standby


def test_a_job_trains_when_its_standby_trainer_died(server_and_worker):
    server, worker = server_and_worker
    (standby,) = wait_for_standby(worker)
    os.kill(standby, signal.SIGKILL)
    _, trainer = train_one_job(server, worker)
    assert trainer != standby and worker.process.poll() is None


def test_a_stopped_worker_leaves_no_standby_trainer(server_and_worker):
    _, worker = server_and_worker
    (standby,) = wait_for_standby(worker)
    worker.signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    wait_until_gone(standby, timeout=10)


def test_a_job_does_not_wait_for_a_standby_still_importing(server_and_worker):
    """A standby that is not ready yet (stopped mid-import here, as one starved of idle CPU time
    would be) is passed over: the job gets a process of its own at once."""
    server, worker = server_and_worker
    (standby,) = wait_for_standby(worker)
    os.kill(standby, signal.SIGSTOP)
    try:
        assert f"standby trainer {standby} is ready" not in worker.log_path.read_text()
        _, trainer = train_one_job(server, worker)
        assert trainer != standby
    finally:
        os.kill(standby, signal.SIGCONT)
    assert wait_for_ready_standby(worker) == standby  # still the next job's


def test_the_job_of_a_standby_runs_at_the_normal_priority(server_and_worker):
    """The standby imported under SCHED_IDLE; the threads that train its job do not: its main
    thread runs at the normal priority, and the few threads the imports started (idle helpers
    such as a BLAS pool) get next to none of the job's CPU time."""
    server, worker = server_and_worker
    standby = wait_for_ready_standby(worker)
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny", training_file=upload(client, chat_rows(600)), method=SFT
        )
        assert wait_for_trainer(worker) == standby
        wait_for_metrics(client, job.id)
        before = thread_cpu(standby)
        time.sleep(1)
        used = {tid: cpu - before.get(tid, 0.0) for tid, cpu in thread_cpu(standby).items()}
        assert os.sched_getscheduler(standby) == os.SCHED_OTHER
        idle = sum(cpu for tid, cpu in used.items() if os.sched_getscheduler(tid) == os.SCHED_IDLE)
        assert idle <= 0.05 * sum(used.values()), used
        wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=300)


def thread_cpu(pid: int) -> dict[int, float]:
    """User and system CPU seconds of each thread of the process, from /proc."""
    used = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        used[int(tid)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used

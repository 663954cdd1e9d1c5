"""The trainer's writes (JobProgress) without training: they are fenced by the start that made
them, and written once per step, checkpoint and warning however often the job restarts. A
checkpoint's folder is removed only after its row."""

from __future__ import annotations

import pytest

from openft import queue
from openft.storage import Storage
from openft.store import checkpoints as checkpoint_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.train import checkpoints
from openft.train.naming import ModelNamer
from openft.train.progress import JobProgress
from openft.train.reporter import PAUSE, SUSPEND
from support.jobs import job_row, messages, queued_job


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'claims.db'}")
    upgrade(database)
    yield database
    database.dispose()


@pytest.fixture
def storage(tmp_path) -> Storage:
    return Storage(tmp_path / "data")


def progress(db, storage, job_id: str, attempt: int, **kwargs) -> JobProgress:
    namer = ModelNamer(shown_model="m", organization="org", suffix=None)
    reporter = JobProgress(db, storage, job_id, namer, "m", attempt=attempt, **kwargs)
    reporter.on_start(total_steps=10, steps_per_epoch=2, n_epochs=5)
    return reporter


def restart(db, job_id: str, reason: str = "lost") -> int:
    with db.write() as session:
        lifecycle.requeue(session, job=job_store.require_job(session, job_id=job_id), reason=reason)
    return queue.claim(db, worker_id="w2").attempts


def metric_steps(db, job_id: str) -> list[int]:
    return [int(m.split("/")[0].removeprefix("Step ")) for m in messages(db, job_id) if m.startswith("Step ")]


def fake_checkpoint(storage: Storage, job_id: str, step: int):
    path = storage.job_dir(job_id) / "checkpoints" / f"step-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"w")
    return path


def test_the_trainer_of_an_earlier_start_can_write_nothing(db, storage):
    job_id = queued_job(db)
    first = progress(db, storage, job_id, queue.claim(db, worker_id="w1").attempts)
    first.on_step(1, {"train_loss": 1.0})
    second = progress(db, storage, job_id, restart(db, job_id))

    before = messages(db, job_id)
    for write in (
        lambda: first.on_step(2, {"train_loss": 0.9}),
        lambda: first.on_checkpoint(2, fake_checkpoint(storage, job_id, 2), {}),
        lambda: first.on_note("late"),
        first.should_stop,
    ):
        with pytest.raises(job_store.ClaimLost):
            write()
    assert messages(db, job_id) == before
    second.on_step(2, {"train_loss": 0.9})
    assert metric_steps(db, job_id) == [1, 2]


def test_steps_checkpoints_and_warnings_are_written_once_across_restarts(db, storage):
    job_id = queued_job(db)
    first = progress(db, storage, job_id, queue.claim(db, worker_id="w1").attempts)
    for step in (1, 2, 3):
        first.on_step(step, {"train_loss": 1.0 / step})
    first.on_checkpoint(2, fake_checkpoint(storage, job_id, 2), {"train_loss": 0.5})
    first.on_warning("3 example(s) were truncated")

    second = progress(db, storage, job_id, restart(db, job_id))  # resumes from its state at step 2
    for step in (3, 4):
        second.on_step(step, {"train_loss": 9.0})
    second.on_checkpoint(2, storage.job_dir(job_id) / "checkpoints" / "step-2", {"train_loss": 0.5})
    second.on_warning("3 example(s) were truncated")

    assert metric_steps(db, job_id) == [1, 2, 3, 4]
    events = messages(db, job_id)
    assert sum(m.startswith("Checkpoint created at step 2") for m in events) == 1
    assert events.count("3 example(s) were truncated") == 1
    with db.read() as session:
        rows = checkpoint_store.job_checkpoints(session, job=job_store.require_job(session, job_id=job_id))
    assert [row.step_number for row in rows] == [2]


def test_a_retired_checkpoint_loses_its_row_before_its_folder(db, storage):
    job_id = queued_job(db)
    reporter = progress(db, storage, job_id, queue.claim(db, worker_id="w1").attempts)
    kept = []
    for step in (2, 4, 6, 8):
        path = fake_checkpoint(storage, job_id, step)
        for old in checkpoints.list_checkpoints(path.parent)[:-3]:
            checkpoints.retire(old)
        reporter.on_checkpoint(step, path, {})
        kept.append(path)
    with db.read() as session:
        rows = checkpoint_store.job_checkpoints(session, job=job_store.require_job(session, job_id=job_id))
    assert [row.step_number for row in rows] == [4, 6, 8]
    assert all(storage.path(row.path).is_dir() for row in rows) and not kept[0].exists()


def test_stop_requests_follow_the_status_and_sigterm(db, storage):
    class Flag:
        def is_set(self):
            return True

    job_id = queued_job(db)
    attempt = queue.claim(db, worker_id="w1").attempts
    assert progress(db, storage, job_id, attempt).should_stop() is None
    assert progress(db, storage, job_id, attempt, stop_request=Flag()).should_stop() == SUSPEND
    with db.write() as session:
        lifecycle.user_action(session, job=job_store.require_job(session, job_id=job_id), action="pause")
    reporter = progress(db, storage, job_id, attempt)
    assert reporter.should_stop() == PAUSE
    reporter.on_step(5, {"train_loss": 0.1})  # the step a pause stops after is still recorded
    assert job_row(db, job_id).status == "paused" and metric_steps(db, job_id) == [5]


def test_a_briefly_unreachable_database_is_retried(db, storage, monkeypatch):
    from contextlib import contextmanager

    from openft.store.db import DatabaseUnavailable
    from openft.train import progress as progress_module

    job_id = queued_job(db)
    reporter = progress(db, storage, job_id, queue.claim(db, worker_id="w1").attempts)
    monkeypatch.setattr(progress_module, "RETRY_WAITS", (0.01, 0.01, 0.01))
    real_write, failures = db.write, [DatabaseUnavailable("the database folder is not writable")] * 2

    @contextmanager
    def flaky_write():
        if failures:
            raise failures.pop()
        with real_write() as session:
            yield session

    monkeypatch.setattr(db, "write", flaky_write)
    reporter.on_step(1, {"train_loss": 1.0})
    assert metric_steps(db, job_id) == [1]
    failures.extend([DatabaseUnavailable("down")] * 4)
    with pytest.raises(DatabaseUnavailable):  # longer than the retries: the step fails clearly
        reporter.on_step(2, {"train_loss": 0.5})


def test_a_full_disk_fails_the_job_with_a_clear_code():
    import errno

    from openft.train.job import _failure

    failure = _failure(OSError(errno.ENOSPC, "No space left on device"))
    assert failure.code == "storage_full" and "no space left" in str(failure)
    assert _failure(ValueError("x")).code == "training_failed"

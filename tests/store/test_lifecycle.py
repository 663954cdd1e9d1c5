"""The job state machine's moves (store.lifecycle) on SQLite and PostgreSQL: each sets what it
always sets and writes exactly one event; a refused move writes nothing; text every database
can store."""

from __future__ import annotations

import pytest

from openft import ids
from openft.store import events as event_store
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.tables import EventRow, JobRow
from openft.store.transitions import TransitionRefused
from support.jobs import job_row, stored_job


def new_job(db: Database, status: str) -> str:
    worker = "w" if status == "running" else None
    return stored_job(db, status=status, estimated_finish=ids.now() + 60, worker_id=worker).id


def move(db: Database, job_id: str, function, **arguments) -> tuple[JobRow, list[EventRow]]:
    """(the job after the move, the events the move wrote)."""
    with db.write() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
        before = len(event_store.list_events(session, job=job, after=None, limit=100).items)
        function(session, job=job, **arguments)
    with db.read() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
        events = event_store.list_events(session, job=job, after=None, limit=100).items
    return job, events[: len(events) - before]


def _learned(n_examples: int) -> dict:
    return {"training": {"file_id": "file-x", "format": "chat", "n_examples": n_examples}}


def test_accepting_files_queues_each_job_with_what_validation_learned_of_its_own(db):
    pending = [new_job(db, "validating_files") for _ in range(3)]
    left = new_job(db, "cancelled")  # left validation before its outcome was stored
    with db.write() as session:
        jobs = [job_store.get_job_any_project(session, job_id=job_id) for job_id in [*pending, left]]
        refused = lifecycle.accept_files(session, accepted=[(job, _learned(i)) for i, job in enumerate(jobs)])
        assert [job.id for job in refused] == [left]
        assert [job.status for job in jobs] == ["queued"] * 3 + ["cancelled"]  # refreshed in the session
        assert [job.validated_files for job in jobs] == [_learned(0), _learned(1), _learned(2), None]
        assert not any(session.is_modified(job) for job in jobs)  # as loaded: nothing left to flush
    with db.read() as session:
        for i, job_id in enumerate([*pending, left]):
            job = job_store.get_job_any_project(session, job_id=job_id)
            events = [
                e.message for e in event_store.list_events(session, job=job, after=None, limit=100).items
            ]
            if job_id == left:
                assert (job.status, job.validated_files, events) == ("cancelled", None, [])
            else:
                assert (job.status, job.validated_files) == ("queued", _learned(i))
                assert events == ["Files validated, moving job to queued state"]


@pytest.mark.parametrize("status", ["validating_files", "cancelled"])
def test_accepting_one_job_moves_it_or_returns_it_refused(db, status):
    job_id = new_job(db, status)
    with db.write() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
        refused = lifecycle.accept_files(session, accepted=[(job, _learned(7))])
    moved = status == "validating_files"
    assert refused == ([] if moved else [job])
    job = job_row(db, job_id)
    assert (job.status, job.validated_files) == (("queued", _learned(7)) if moved else ("cancelled", None))


def test_moving_several_jobs_at_once_takes_the_same_fields_for_each(db):
    jobs_ids = [new_job(db, "validating_files") for _ in range(2)]
    with db.write() as session:
        first, second = (job_store.get_job_any_project(session, job_id=job_id) for job_id in jobs_ids)
        moves = [(first, {"validated_files": {}}), (second, {"error": None})]
        with pytest.raises(ValueError, match="same fields"):
            job_store.transition_each(session, action="validate", moves=moves)


def test_start_claims_for_a_worker_and_counts_the_attempt(db):
    job, events = move(db, new_job(db, "queued"), lifecycle.start, worker_id="w-1")
    assert (job.status, job.worker_id, job.attempts) == ("running", "w-1", 1)
    assert job.started_at is not None and job.heartbeat_at is not None
    assert [e.message for e in events] == ["Fine-tuning job started"]


def test_requeue_frees_the_job_and_says_why(db):
    job, events = move(db, new_job(db, "running"), lifecycle.requeue, reason="The worker shut down")
    assert (job.status, job.worker_id, job.estimated_finish) == ("queued", None, None)
    assert [(e.level, e.message) for e in events] == [
        ("warn", "The worker shut down; the job was put back in the queue.")
    ]


@pytest.mark.parametrize("status", ["validating_files", "queued", "running", "paused"])
def test_fail_stores_the_error_and_one_error_event_from_any_unfinished_status(db, status):
    job, events = move(
        db,
        new_job(db, status),
        lifecycle.fail,
        code="invalid_training_file",
        message="Bad",
        param="training_file",
    )
    assert job.status == "failed" and job.finished_at is not None and job.estimated_finish is None
    assert job.error == {"code": "invalid_training_file", "message": "Bad", "param": "training_file"}
    assert [(e.level, e.message) for e in events] == [("error", "Bad")]


def test_succeed_records_the_model_and_result_files(db):
    job, events = move(
        db,
        new_job(db, "running"),
        lifecycle.succeed,
        fine_tuned_model="ft:m:org::abc",
        trained_tokens=99,
        result_files=["file-r"],
    )
    assert (job.status, job.fine_tuned_model, job.trained_tokens, job.result_files) == (
        "succeeded",
        "ft:m:org::abc",
        99,
        ["file-r"],
    )
    assert job.finished_at is not None and job.estimated_finish is None
    assert [e.message for e in events] == ["The job has successfully completed"]


@pytest.mark.parametrize(
    ("action", "status", "after", "message"),
    [
        ("cancel", "running", "cancelled", "Fine-tuning job cancelled"),
        ("pause", "running", "paused", "Fine-tuning job paused"),
        ("resume", "paused", "queued", "Fine-tuning job resumed"),
    ],
)
def test_user_actions_move_the_job_with_one_event(db, action, status, after, message):
    job, events = move(db, new_job(db, status), lifecycle.user_action, action=action)
    assert job.status == after and (job.finished_at is not None) == (action == "cancel")
    assert [e.message for e in events] == [message]
    if action != "resume":
        assert job.estimated_finish is None


def test_a_refused_move_writes_nothing(db):
    job_id = new_job(db, "succeeded")
    with pytest.raises(TransitionRefused):
        move(db, job_id, lifecycle.fail, code="x", message="never stored")
    with db.read() as session:
        job = job_store.get_job_any_project(session, job_id=job_id)
        assert (job.status, job.error) == ("succeeded", None)
        assert event_store.list_events(session, job=job, after=None, limit=10).items == []


def test_unstorable_characters_in_a_failure_are_replaced(db):
    """A lone surrogate (a "\\ud800" escape in a JSONL key) or a NUL quoted back in an error message
    must not make the failure itself unstorable (PostgreSQL text refuses NUL, UTF-8 refuses surrogates)."""
    message = "Unrecognized key '\ud800k' in role 'us\x00er'"
    job, events = move(db, new_job(db, "validating_files"), lifecycle.fail, code="c", message=message)
    assert job.error["message"] == events[0].message == "Unrecognized key '\ufffdk' in role 'us\ufffder'"

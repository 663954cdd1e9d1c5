"""The validation stage on SQLite and PostgreSQL: every job it looks at leaves validating_files
once, with a stored error when its files are bad, even when the error quotes what no database
can store, and when the stage itself cannot read the file; jobs pending together are checked and
recorded together, each with its own outcome, and one outcome the database refuses holds back
no other."""

from __future__ import annotations

import contextlib
import json
import threading

from sqlalchemy.exc import OperationalError

from openft import validation_stage
from openft.store import lifecycle
from support.clients import sync_client
from support.data import chat_rows, upload, wait_for_status

ANSWER = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]


def test_an_error_quoting_a_surrogate_key_or_a_nul_is_stored_and_the_job_fails(make_server, backend):
    server = make_server(backend)
    lines = [
        json.dumps({"messages": [{"role": "us\x00er", "content": "hi"}, ANSWER[1]]}),
        json.dumps({"messages": [{**ANSWER[0], "\ud800k": 1}, ANSWER[1]]}),
    ]
    with sync_client(server.url) as client:
        file = client.files.create(file=("t.jsonl", "\n".join(lines).encode()), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file.id)
        failed = wait_for_status(client, job.id, {"failed", "queued"}, timeout=30)
        assert failed.status == "failed" and failed.error.code == "invalid_training_file"
        assert "Unrecognized role 'us\ufffder'" in failed.error.message
        assert "message 1 \ufffdk: Unrecognized key '\\ud800k'" in failed.error.message
        events = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
        assert events[0] == failed.error.message


def test_a_file_the_stage_cannot_read_fails_the_job_once(make_server, backend):
    server = make_server(backend)
    services = server.services
    with sync_client(server.url) as client:
        file_id = upload(client, chat_rows(10))
        with services.db.read() as session:
            from openft.store import files as file_store

            row = file_store.get_file(session, project_id="proj_default", file_id=file_id)
        services.storage.path(row.path).unlink()  # the row is there, its bytes are not
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=file_id)
        failed = wait_for_status(client, job.id, {"failed", "queued"}, timeout=30)
        assert failed.status == "failed"
        assert failed.error.message.startswith("The job's files could not be validated: FileNotFoundError")
        errors = [e for e in client.fine_tuning.jobs.list_events(job.id) if e.level == "error"]
        assert len(errors) == 1


def test_a_python_grader_job_fails_when_the_server_cannot_run_python_graders(make_server, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no bubblewrap: `auto` refuses python graders
    server = make_server()
    grader = {"type": "python", "name": "p", "source": "def grade(sample, item):\n    return 1.0\n"}
    rows = [{"messages": [{"role": "user", "content": f"Say {i}"}], "answer": str(i)} for i in range(10)]
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini",
            training_file=upload(client, rows),
            method={"type": "reinforcement", "reinforcement": {"grader": grader}},
        )
        failed = wait_for_status(client, job.id, {"failed", "queued"}, timeout=30)
        assert failed.status == "failed" and failed.error.code == "python_grader_unavailable"
        assert failed.error.param == "method.reinforcement.grader"
        assert "bubblewrap" in failed.error.message


@contextlib.contextmanager
def stage_held(monkeypatch, client):
    """A sentinel job's check holds the validation stage's pass until the block exits (the block is
    entered once the pass holds), so the jobs created in the block are pending together and the
    next pass checks and records them as one batch. Yields the sentinel job's id."""
    entered, release = threading.Event(), threading.Event()
    real = validation_stage.validate_dataset

    def held(*args, **kwargs):
        entered.set()
        release.wait(timeout=30)
        return real(*args, **kwargs)

    monkeypatch.setattr(validation_stage, "validate_dataset", held)
    try:
        sentinel = client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=upload(client, chat_rows(10))
        )
        assert entered.wait(timeout=30), "the validation stage never checked the sentinel job"
        yield sentinel.id
    finally:
        release.set()


def _burst(client, good: int, bad: int) -> tuple[list[str], list[str], str]:
    """Jobs on good files, on a bad file, and one on a file deleted before the stage looks at it."""
    good_ids = [
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10))).id
        for _ in range(good)
    ]
    bad_file = upload(client, [{"messages": [ANSWER[0]]}] * 10)  # no assistant message
    bad_ids = [
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=bad_file).id for _ in range(bad)
    ]
    gone_file = upload(client, chat_rows(10))
    gone = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=gone_file).id
    client.files.delete(gone_file)
    return good_ids, bad_ids, gone


def _validation_events(client, job_id: str) -> list[str]:
    return [
        e.message
        for e in client.fine_tuning.jobs.list_events(job_id)
        if e.message.startswith("Files validated") or e.level == "error"
    ]


def test_jobs_pending_together_each_get_their_own_outcome_once(make_server, backend, monkeypatch):
    server = make_server(backend)
    with sync_client(server.url) as client:
        with stage_held(monkeypatch, client) as sentinel:
            good, bad, gone = _burst(client, good=4, bad=2)
        for job_id in [sentinel, *good]:
            assert wait_for_status(client, job_id, {"queued", "failed"}).status == "queued"
            assert _validation_events(client, job_id) == ["Files validated, moving job to queued state"]
        for job_id in bad:
            failed = wait_for_status(client, job_id, {"queued", "failed"})
            assert failed.status == "failed" and failed.error.code == "invalid_training_file"
            assert _validation_events(client, job_id) == [failed.error.message]
        failed = wait_for_status(client, gone, {"queued", "failed"})
        assert failed.status == "failed" and "no longer exists" in failed.error.message
        assert failed.error.param == "training_file"


def test_an_outcome_the_database_refuses_holds_back_no_other_job(make_server, backend, monkeypatch):
    server = make_server(backend)
    refused: set[str] = set()
    accept = lifecycle.accept_files

    def accept_unless_refused(session, *, accepted):
        if any(job.id in refused for job, _ in accepted):
            raise OperationalError("UPDATE jobs", {}, Exception("the database refused this row"))
        return accept(session, accepted=accepted)

    monkeypatch.setattr(lifecycle, "accept_files", accept_unless_refused)
    with sync_client(server.url) as client:
        with stage_held(monkeypatch, client) as sentinel:
            good, bad, gone = _burst(client, good=3, bad=1)
            refused.add(good[1])
        for job_id in [sentinel, good[0], good[2]]:
            assert wait_for_status(client, job_id, {"queued", "failed"}).status == "queued"
        assert wait_for_status(client, bad[0], {"queued", "failed"}).status == "failed"
        assert wait_for_status(client, gone, {"queued", "failed"}).status == "failed"
        assert client.fine_tuning.jobs.retrieve(good[1]).status == "validating_files"
        refused.clear()  # the database takes it again: the next pass records it, once
        assert wait_for_status(client, good[1], {"queued", "failed"}).status == "queued"
        assert _validation_events(client, good[1]) == ["Files validated, moving job to queued state"]

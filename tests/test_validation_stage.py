"""The validation stage on SQLite and PostgreSQL: every job it looks at leaves validating_files
once, with a stored error when its files are bad, even when the error quotes what no database
can store, and when the stage itself cannot read the file."""

from __future__ import annotations

import json

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

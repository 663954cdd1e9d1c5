"""A job's files are read once by the validation stage's reader: the trainer takes the same BOM,
CRLF and blank-line tolerant JSONL reader, and trusts the stored validation result instead of
validating the file again."""

from __future__ import annotations

import json

import pytest

from support.clients import sync_client
from support.data import chat_rows, step_metrics, wait_for_status

pytestmark = pytest.mark.train

SFT = {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1, "batch_size": 5}}}


def windows_file(rows: list[dict]) -> bytes:
    """What a Windows editor saves: a UTF-8 BOM, CRLF line ends, blank lines between rows."""
    return b"\xef\xbb\xbf" + b"\r\n\r\n".join(json.dumps(row).encode() for row in rows) + b"\r\n\r\n"


def test_a_file_with_a_bom_crlf_and_blank_lines_trains(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        file = client.files.create(file=("train.jsonl", windows_file(chat_rows(10))), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="tiny", training_file=file.id, method=SFT)
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=300)
        assert done.status == "succeeded", done.error
        assert [m["step"] for m in step_metrics(client, job.id)] == [1, 2]  # 10 examples, 5 a batch


def test_the_trainer_uses_the_stored_validation_result(tiny_server, monkeypatch):
    """Validation runs once, in the validation stage; the trainer plans from what it stored."""
    from openft import datasets, queue
    from openft.datasets import scan
    from openft.store import jobs as job_store
    from openft.train.job import run_job

    server = tiny_server(embedded_worker=False)
    with sync_client(server.url) as client:
        file = client.files.create(file=("train.jsonl", windows_file(chat_rows(10))), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model="tiny", training_file=file.id, method=SFT)
        wait_for_status(client, job.id, {"queued"}, timeout=30)
        db = server.services.db
        with db.read() as session:
            stored = job_store.get_job_any_project(session, job_id=job.id).validated_files
        assert stored == {"training": {"file_id": file.id, "format": "chat", "n_examples": 10}}

        def refuse(*args, **kwargs):
            raise AssertionError("the trainer validated the file again")

        monkeypatch.setattr(scan, "validate_dataset", refuse)
        monkeypatch.setattr(datasets, "validate_dataset", refuse)
        assert queue.claim(db, worker_id="test").id == job.id
        run_job(server.settings, job.id)
        done = client.fine_tuning.jobs.retrieve(job.id)
        assert done.status == "succeeded", done.error
        assert (done.hyperparameters.batch_size, done.hyperparameters.n_epochs) == (5, 1)

"""A job row straight in the store, for the tests of the queue, the worker and the trainer's writes."""

from __future__ import annotations

from openft import ids
from openft.store import jobs as job_store
from openft.store.db import Database
from openft.store.tables import JobRow


def stored_job(db: Database, **fields) -> JobRow:
    """A job row added to the store: a queued supervised job, with ``fields`` overriding any column."""
    method = fields.pop("method_type", "supervised")
    columns = {
        "id": ids.job_id(),
        "project_id": "proj",
        "organization_id": "org",
        "organization_name": "org",
        "created_at": ids.now(),
        "model": "m",
        "base_model": "m",
        "status": "queued",
        "training_file": "file-x",
        "seed": 1,
        "method": {"type": method, method: {"hyperparameters": {}}},
        "result_files": [],
        **fields,
    }
    with db.write() as session:
        return job_store.add_job(session, **columns)


def queued_job(db: Database, method: str = "supervised") -> str:
    return stored_job(db, method_type=method).id


def job_row(db: Database, job_id: str) -> JobRow:
    with db.read() as session:
        return job_store.require_job(session, job_id=job_id)


def messages(db: Database, job_id: str) -> list[str]:
    """The job's event messages, oldest first."""
    from openft.store import events as event_store

    with db.read() as session:
        job = job_store.require_job(session, job_id=job_id)
        return [
            e.message
            for e in reversed(event_store.list_events(session, job=job, after=None, limit=500).items)
        ]

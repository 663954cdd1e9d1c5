"""The store against SQLite and (when OPENFT_TEST_DATABASE_URL is set) PostgreSQL: migrations,
the transition table, conditional transitions under contention, cursors, JSON filters, rows
added without the unit of work, the file lookups of a job create."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import inspect, select

from openft import ids
from openft.store import events as event_store
from openft.store import files as file_store
from openft.store import jobs as job_store
from openft.store import transitions
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.store.tables import FileRow, JobRow
from support.jobs import stored_job


def _job(db: Database, *, metadata=None, project="proj_a") -> JobRow:
    return stored_job(db, project_id=project, status="validating_files", metadata_=metadata)


def test_migrations_create_every_table_and_are_idempotent(db):
    upgrade(db)  # a second run is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "files",
        "uploads",
        "upload_parts",
        "jobs",
        "job_events",
        "checkpoints",
        "models",
        "stored_completions",
        "responses",
        "alembic_version",
    } <= tables


def test_transition_table_allows_only_documented_moves():
    assert transitions.next_status("validate", "validating_files") == "queued"
    assert transitions.next_status("cancel", "running") == "cancelled"
    assert transitions.next_status("resume", "paused") == "queued"
    for action, status in [
        ("cancel", "succeeded"),
        ("cancel", "failed"),
        ("pause", "queued"),
        ("resume", "running"),
        ("start", "validating_files"),
    ]:
        with pytest.raises(transitions.TransitionRefused):
            transitions.next_status(action, status)


def test_only_one_of_many_concurrent_transitions_wins(db):
    job = _job(db)
    with db.write() as session:
        job_store.transition(
            session, job=job_store.get_job_any_project(session, job_id=job.id), action="validate"
        )
    outcomes, barrier = [], threading.Barrier(6)

    def claim(action):
        barrier.wait()
        try:
            with db.write() as session:
                row = job_store.get_job_any_project(session, job_id=job.id)
                job_store.transition(session, job=row, action=action)
            outcomes.append(action)
        except transitions.TransitionRefused:
            outcomes.append("refused")

    threads = [threading.Thread(target=claim, args=(a,)) for a in ["start"] * 3 + ["cancel"] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o != "refused"]
    # Cancel is allowed from queued and running, so exactly one cancel wins; a start can only win
    # before it (queued -> running -> cancelled), and never twice.
    assert winners in (["start", "cancel"], ["cancel"])
    assert outcomes.count("refused") == 6 - len(winners)
    with db.read() as session:
        assert job_store.get_job_any_project(session, job_id=job.id).status == "cancelled"


def test_an_added_job_is_the_row_as_stored_and_attaches_to_a_later_session(db):
    added = _job(db, metadata={"team": "a"})
    columns = [attr.key for attr in inspect(JobRow).column_attrs]
    with db.read() as session:
        stored = job_store.get_job_any_project(session, job_id=added.id)
        assert {key: getattr(added, key) for key in columns} == {key: getattr(stored, key) for key in columns}
    assert (added.attempts, added.crashes, added.hyperparameters) == (0, 0, None)  # the columns' defaults
    with db.write() as session:
        session.add(added)  # detached, as if loaded: attaching it inserts nothing
        event_store.add_event(session, job=added, message="later")
    with db.read() as session:
        assert len(session.scalars(select(JobRow.pk).where(JobRow.id == added.id)).all()) == 1


def test_messages_added_together_keep_their_order_within_and_across_jobs(db):
    first, second = _job(db), _job(db)
    with db.write() as session:
        event_store.add_messages(session, [(first, "a"), (second, "x"), (first, "b")])
    with db.read() as session:
        for job, expected in ((first, ["b", "a"]), (second, ["x"])):
            events = event_store.list_events(session, job=job, after=None, limit=10).items
            assert [e.message for e in events] == expected
            assert {(e.level, e.type, e.data) for e in events} == {("info", "message", None)}


def test_events_page_newest_first_by_cursor(db):
    job = _job(db)
    with db.write() as session:
        row = job_store.get_job_any_project(session, job_id=job.id)
        for i in range(5):
            event_store.add_event(session, job=row, message=f"m{i}")
    with db.read() as session:
        row = job_store.get_job_any_project(session, job_id=job.id)
        first = event_store.list_events(session, job=row, after=None, limit=2)
        assert [e.message for e in first.items] == ["m4", "m3"] and first.has_more
        rest = event_store.list_events(session, job=row, after=first.items[-1].id, limit=10)
        assert [e.message for e in rest.items] == ["m2", "m1", "m0"] and not rest.has_more


def test_metadata_filters_use_json_paths(db):
    a = _job(db, metadata={"team": "x", "run": "1"})
    b = _job(db, metadata={"team": "y"})
    c = _job(db, metadata=None)
    _job(db, metadata={"team": "x"}, project="proj_other")
    with db.read() as session:

        def ids_for(**kwargs):
            page = job_store.list_jobs(session, project_id="proj_a", after=None, limit=50, **kwargs)
            return [j.id for j in page.items]

        assert ids_for(metadata={"team": "x"}, metadata_null=False) == [a.id]
        assert ids_for(metadata={"team": "y"}, metadata_null=False) == [b.id]
        assert ids_for(metadata=None, metadata_null=True) == [c.id]
        assert ids_for(metadata={}, metadata_null=False) == [c.id, b.id, a.id]


def test_a_files_purpose_is_known_only_while_it_lives_and_only_to_its_project(db):
    now = ids.now()
    with db.write() as session:
        for file_id, expires_at in (("file-live", None), ("file-later", now + 60), ("file-gone", now - 1)):
            row = FileRow(
                id=file_id, project_id="proj_a", filename="f", purpose="fine-tune", bytes=1,
                created_at=now, expires_at=expires_at, status="processed", path=file_id,
            )  # fmt: skip
            file_store.add_file(session, row=row)
    with db.read() as session:
        purposes = {
            (project, file_id): file_store.live_file_purpose(session, project_id=project, file_id=file_id)
            for project in ("proj_a", "proj_b")
            for file_id in ("file-live", "file-later", "file-gone", "file-none")
        }
    assert {key for key, purpose in purposes.items() if purpose is not None} == {
        ("proj_a", "file-live"),
        ("proj_a", "file-later"),
    }
    assert purposes["proj_a", "file-live"] == "fine-tune"

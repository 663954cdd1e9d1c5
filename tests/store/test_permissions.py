"""Checkpoint permissions in the store (SQLite and, when OPENFT_TEST_DATABASE_URL is set, PostgreSQL):
granting once per project, cursors both ways with a project filter, deletion, and which models a
project sees (its own, and others' while shared and not deleted)."""

from __future__ import annotations

from sqlalchemy import inspect

from openft import ids
from openft.store import models as model_store
from openft.store import permissions as permission_store
from openft.store.db import Database
from openft.store.tables import ModelRow

NAME = "ft:tiny:acme::AaAa1111:ckpt-step-2"


def _model(db: Database, name: str = NAME, project: str = "proj_a") -> ModelRow:
    with db.write() as session:
        row = model_store.add_model(
            session,
            row=ModelRow(
                id=name,
                project_id=project,
                owned_by="org-acme",
                job_id="ftjob-x",
                created_at=1,
                base_model="tiny",
                path="jobs/ftjob-x/checkpoints/step-2",
            ),
        )
        session.flush()
        return row


def _grant(db: Database, model: ModelRow, project_ids: list[str]) -> list[str]:
    with db.write() as session:
        rows = permission_store.add_permissions(session, model=model, project_ids=project_ids, now=ids.now())
        return [row.id for row in rows]


def test_the_migration_creates_the_table_and_the_jobs_column(db):
    inspector = inspect(db.engine)
    assert "checkpoint_permissions" in inspector.get_table_names()
    assert "base_project_id" in {column["name"] for column in inspector.get_columns("jobs")}


def test_a_project_is_granted_once_and_a_repeated_grant_returns_the_same_permission(db):
    model = _model(db)
    first = _grant(db, model, ["proj_b", "proj_c", "proj_b"])
    assert len(first) == 2 and all(pid.startswith("cp_") and len(pid) == 27 for pid in first)
    again = _grant(db, model, ["proj_c", "proj_d"])
    assert again[0] == first[1] and again[1] not in first
    with db.read() as session:
        page = permission_store.list_permissions(
            session, model=model, project_id=None, after=None, limit=10, ascending=True
        )
    assert [row.project_id for row in page.items] == ["proj_b", "proj_c", "proj_d"]


def test_lists_page_both_ways_and_filter_by_project(db):
    model, other = _model(db), _model(db, "ft:tiny:acme::BbBb2222")
    granted = [_grant(db, model, [f"proj_{n}"])[0] for n in range(5)]
    _grant(db, other, ["proj_0"])

    def page(**kwargs):
        arguments = {"project_id": None, "after": None, "limit": 2, "ascending": False, **kwargs}
        with db.read() as session:
            found = permission_store.list_permissions(session, model=model, **arguments)
        return [row.id for row in found.items], found.has_more

    assert page() == (granted[::-1][:2], True)
    assert page(after=granted[3]) == ([granted[2], granted[1]], True)
    assert page(after=granted[1]) == ([granted[0]], False)
    assert page(ascending=True, after=granted[1]) == (granted[2:4], True)
    assert page(project_id="proj_3") == ([granted[3]], False)
    assert page(after="cp_unknown") == ([], False)


def test_shared_models_are_visible_until_the_permission_or_the_model_goes(db):
    model = _model(db)
    _model(db, "ft:tiny:acme::OwNb0000", project="proj_b")
    [permission] = _grant(db, model, ["proj_b"])
    with db.read() as session:
        assert permission_store.visible_model(session, project_id="proj_b", model_id=NAME).id == NAME
        assert permission_store.visible_model(session, project_id="proj_c", model_id=NAME) is None
        shared = permission_store.shared_models(session, project_id="proj_b")
        assert [row.id for row in shared] == [NAME]  # not its own models: those list themselves
    with db.write() as session:
        row = permission_store.get_permission(session, model=model, permission_id=permission)
        permission_store.delete_permission(session, row=row)
    with db.read() as session:
        assert permission_store.visible_model(session, project_id="proj_b", model_id=NAME) is None
        assert permission_store.get_permission(session, model=model, permission_id=permission) is None
    _grant(db, model, ["proj_b"])
    with db.write() as session:
        row = model_store.get_model(session, project_id="proj_a", model_id=NAME)
        model_store.mark_deleted(session, row=row, now=ids.now())
    with db.read() as session:
        assert permission_store.visible_model(session, project_id="proj_b", model_id=NAME) is None
        assert permission_store.shared_models(session, project_id="proj_b") == []

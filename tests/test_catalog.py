"""The one resolver from a model name to what to load: a configured base model (through aliases), or an
ft: model's adapter or full weights within its project or shared with it (pure Python)."""

from __future__ import annotations

import pytest

from openft import ids
from openft.catalog import Catalog, ModelTarget, ModelUnavailable
from openft.config import BaseModelConfig, Settings
from openft.storage import Storage
from openft.store import models as model_store
from openft.store import permissions as permission_store
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.store.tables import ModelRow

BASES = {
    "small": BaseModelConfig(source="org/small"),
    "whole": BaseModelConfig(source="org/whole", full_finetune=True),
}


@pytest.fixture
def world(tmp_path):
    """(settings, storage, db) with an adapter model, a full-weights model and one whose files are gone."""
    settings = Settings(
        data_dir=tmp_path, base_models=BASES, model_aliases={"gpt-x": "gpt-x-2025", "gpt-x-2025": "small"}
    )
    storage, db = Storage(tmp_path), Database(f"sqlite:///{tmp_path / 'lineage.db'}")
    upgrade(db)
    (tmp_path / "jobs/a/final").mkdir(parents=True)
    (tmp_path / "jobs/a/final/adapter_config.json").write_text("{}")
    (tmp_path / "jobs/w/final").mkdir(parents=True)
    with db.write() as session:
        for name, base, path in (
            ("ft:small::adapter", "small", "jobs/a/final"),
            ("ft:whole::weights", "whole", "jobs/w/final"),
            ("ft:small::gone", "small", "jobs/g/final"),
            ("ft:old::model", "retired", "jobs/a/final"),
        ):
            model_store.add_model(
                session,
                row=ModelRow(
                    id=name,
                    project_id="proj",
                    owned_by="org",
                    job_id="ftjob-x",
                    created_at=ids.now(),
                    base_model=base,
                    path=path,
                ),
            )
    yield settings, storage, db
    db.dispose()


def start(world, name: str, project: str = "proj") -> ModelTarget:
    settings, storage, db = world
    with db.read() as session:
        return Catalog(settings, storage).locate(session, project_id=project, name=name)


def test_bases_aliases_and_ft_models_resolve_to_what_to_load(world, tmp_path):
    small = ModelTarget("small", "small", "org/small", 2048)
    assert start(world, "small") == small
    assert start(world, "gpt-x") == ModelTarget("gpt-x", "small", "org/small", 2048)
    whole = start(world, "whole")
    assert (whole.source, whole.trains_fully, whole.is_fine_tuned) == ("org/whole", True, False)
    adapter = start(world, "ft:small::adapter")
    assert adapter.adapter_dir == tmp_path / "jobs/a/final" and adapter.source == "org/small"
    assert (adapter.trains_fully, adapter.is_fine_tuned) == (False, True)
    weights = start(world, "ft:whole::weights")
    assert (weights.source, weights.trains_fully) == (str(tmp_path / "jobs/w/final"), True)


def test_the_shown_name_is_the_last_alias_before_the_base(world):
    settings, storage, _ = world
    resolved = Catalog(settings, storage).resolve("gpt-x")
    assert (resolved.shown, resolved.base) == ("gpt-x-2025", "small")


@pytest.mark.parametrize(
    ("name", "project", "message"),
    [
        ("ft:small::adapter", "other", "The model ft:small::adapter does not exist."),
        ("ft:small::gone", "proj", "The weights of ft:small::gone are no longer available."),
        ("ft:old::model", "proj", "The base model retired of ft:old::model is no longer configured."),
        ("retired", "proj", "The model retired does not exist."),
    ],
)
def test_names_that_load_nothing_say_why(world, name, project, message):
    with pytest.raises(ModelUnavailable, match=message.replace(".", r"\.")):
        start(world, name, project)


def test_a_model_shared_with_a_project_resolves_there_and_names_its_owner(world, tmp_path):
    _, _, db = world
    assert start(world, "ft:small::adapter").project_id == "proj" and start(world, "small").project_id is None
    with db.write() as session:
        row = model_store.get_model(session, project_id="proj", model_id="ft:small::adapter")
        permission_store.add_permissions(session, model=row, project_ids=["other"], now=ids.now())
    shared = start(world, "ft:small::adapter", "other")
    assert (shared.adapter_dir, shared.project_id) == (tmp_path / "jobs/a/final", "proj")
    with pytest.raises(ModelUnavailable, match="does not exist"):
        start(world, "ft:small::adapter", "third")

"""Where a job starts: a configured base model, or an ft: model's adapter or full weights (pure Python)."""

from __future__ import annotations

import pytest

from openft import ids
from openft.config import BaseModelConfig, Settings
from openft.storage import Storage
from openft.store import models as model_store
from openft.store.db import Database
from openft.store.migrate import upgrade
from openft.store.tables import ModelRow
from openft.train.lineage import Lineage, ModelUnavailable, trace

pytestmark = pytest.mark.train

BASES = {
    "small": BaseModelConfig(source="org/small"),
    "whole": BaseModelConfig(source="org/whole", full_finetune=True),
}


@pytest.fixture
def world(tmp_path):
    """(settings, storage, db) with an adapter model, a full-weights model and one whose files are gone."""
    settings = Settings(data_dir=tmp_path, base_models=BASES, model_aliases={})
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


def start(world, base_model: str, project: str = "proj") -> Lineage:
    settings, storage, db = world
    with db.read() as session:
        return trace(settings, storage, session, project_id=project, base_model=base_model)


def test_configured_bases_and_ft_models_resolve_to_what_training_loads(world, tmp_path):
    assert start(world, "small") == Lineage("small", "org/small", False)
    assert start(world, "whole") == Lineage("whole", "org/whole", True)
    assert start(world, "ft:small::adapter") == Lineage(
        "small", "org/small", False, adapter_dir=tmp_path / "jobs/a/final"
    )
    assert start(world, "ft:whole::weights") == Lineage("whole", str(tmp_path / "jobs/w/final"), True)


@pytest.mark.parametrize(
    ("base_model", "project", "message"),
    [
        ("ft:small::adapter", "other", "The model ft:small::adapter no longer exists."),
        ("ft:small::gone", "proj", "The weights of ft:small::gone are no longer available."),
        ("ft:old::model", "proj", "The base model retired is no longer configured."),
        ("retired", "proj", "The base model retired is no longer configured."),
    ],
)
def test_models_that_can_no_longer_be_trained_from_say_why(world, base_model, project, message):
    with pytest.raises(ModelUnavailable, match=message.replace(".", r"\.")):
        start(world, base_model, project)

"""/v1/models: base models and OpenAI aliases, a project's fine-tuned models, delete."""

from __future__ import annotations

import openai
import pytest

from openft.config import KeyGrant
from openft.store import models as model_store
from openft.store.tables import ModelRow
from support.clients import sync_client


def test_base_models_and_aliases_are_listed_and_retrievable(client):
    ids = {model.id for model in client.models.list()}
    assert {"SmolLM2-135M-Instruct", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "o4-mini", "babbage-002"} <= ids
    model = client.models.retrieve("gpt-4o-mini")
    assert model.id == "gpt-4o-mini" and model.object == "model"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("nope")
    assert caught.value.code == "model_not_found" and caught.value.param == "model"


def _add_model(server, name: str, project: str, path: str = "jobs/ftjob-x/final") -> None:
    with server.services.db.write() as session:
        model_store.add_model(
            session,
            row=ModelRow(
                id=name,
                project_id=project,
                owned_by="org-acme",
                job_id="ftjob-x",
                created_at=1,
                base_model="SmolLM2-135M-Instruct",
                path=path,
            ),
        )


def test_deleting_one_of_two_models_in_one_directory_keeps_the_directory(server, client):
    weights = server.settings.data_dir / "jobs/ftjob-shared/final"
    weights.mkdir(parents=True)
    first, second = "ft:gpt-4o-mini-2024-07-18:openft::Sh4red01", "ft:gpt-4o-mini-2024-07-18:openft::Sh4red02"
    for name in (first, second):
        _add_model(server, name, "proj_default", path="jobs/ftjob-shared/final")
    client.models.delete(first)
    assert weights.is_dir() and client.models.retrieve(second).id == second
    client.models.delete(second)
    assert not weights.exists()


def test_fine_tuned_models_belong_to_their_project_and_can_be_deleted(make_server):
    keys = {
        "sk-a": KeyGrant(organization="org-acme", project="proj_a"),
        "sk-b": KeyGrant(organization="org-acme", project="proj_b"),
    }
    server = make_server(api_keys=keys)
    name = "ft:gpt-4o-mini-2024-07-18:acme:geo:AbCd1234"
    _add_model(server, name, "proj_a")
    weights = server.settings.data_dir / "jobs/ftjob-x/final"
    weights.mkdir(parents=True)
    (weights / "adapter_model.safetensors").write_bytes(b"weights")
    with sync_client(server.url, api_key="sk-a") as a, sync_client(server.url, api_key="sk-b") as b:
        assert a.models.retrieve(name).owned_by == "org-acme"
        assert name in {m.id for m in a.models.list()} and name not in {m.id for m in b.models.list()}
        with pytest.raises(openai.NotFoundError):
            b.models.retrieve(name)
        with pytest.raises(openai.NotFoundError):
            b.models.delete(name)
        assert weights.is_dir()  # another project's delete touched nothing
        deleted = a.models.delete(name)
        assert (deleted.id, deleted.deleted) == (name, True)
        assert not weights.exists()  # the weights go with the model
        with pytest.raises(openai.NotFoundError):
            a.models.retrieve(name)
        with pytest.raises(openai.PermissionDeniedError):
            a.models.delete("gpt-4o-mini")


def test_a_fine_tuned_model_can_be_the_base_of_a_new_job(server, client):
    from support.data import chat_rows, upload

    name = "ft:gpt-4o-mini-2024-07-18:openft:geo:Zz9Yy8Xx"
    _add_model(server, name, "proj_default", path="jobs/ftjob-base/final")
    (server.settings.data_dir / "jobs/ftjob-base/final").mkdir(parents=True)  # its weights, as trained
    job = client.fine_tuning.jobs.create(model=name, training_file=upload(client, chat_rows(10)))
    assert job.model == name

"""Checkpoint permissions through the official SDK in strict mode (every response also checked against
the OpenAPI subset): create, list (cursor, order, project filter), delete; only the owning project
manages them; the project a checkpoint is shared with lists, retrieves and fine-tunes from it until
the permission is deleted. Chat with a shared checkpoint is in tests/serve, training from one in
tests/train."""

from __future__ import annotations

import openai
import pytest

from openft.config import KeyGrant
from openft.store import jobs as job_store
from openft.store import models as model_store
from openft.store.tables import ModelRow
from support.clients import sync_client
from support.data import chat_rows, upload

KEYS = {
    "sk-a": KeyGrant(organization="org-acme", project="proj_a"),
    "sk-b": KeyGrant(organization="org-acme", project="proj_b"),
    "sk-c": KeyGrant(organization="org-acme", project="proj_c"),
    "sk-d": KeyGrant(organization="org-acme", project="proj_d"),
    "sk-x": KeyGrant(organization="org-other", project="proj_x"),
}
CHECKPOINT = "ft:gpt-4o-mini-2024-07-18:acme::AaAa1111:ckpt-step-2"


@pytest.fixture
def server(make_server):
    """Projects a-d of org-acme and x of another organization; proj_a owns CHECKPOINT (an adapter)."""
    server = make_server(api_keys=KEYS)
    weights = server.settings.data_dir / "jobs/ftjob-a/checkpoints/step-2"
    weights.mkdir(parents=True)
    (weights / "adapter_config.json").write_text("{}")
    with server.services.db.write() as session:
        model_store.add_model(
            session,
            row=ModelRow(
                id=CHECKPOINT,
                project_id="proj_a",
                owned_by="org-acme",
                job_id="ftjob-a",
                created_at=1,
                base_model="SmolLM2-135M-Instruct",
                path="jobs/ftjob-a/checkpoints/step-2",
            ),
        )
    return server


@pytest.fixture
def sdks(server):
    clients = {project: sync_client(server.url, api_key=f"sk-{project}") for project in "abcx"}
    yield clients
    for client in clients.values():
        client.close()


def permissions(client):
    return client.fine_tuning.checkpoints.permissions


def test_create_list_and_delete_in_openais_shapes(sdks):
    a = sdks["a"]
    created = permissions(a).create(CHECKPOINT, project_ids=["proj_b", "proj_c"])
    assert created.object == "list" and [p.project_id for p in created.data] == ["proj_b", "proj_c"]
    assert all(p.object == "checkpoint.permission" and p.id.startswith("cp_") for p in created.data)
    again = permissions(a).create(CHECKPOINT, project_ids=["proj_c", "proj_d"])
    assert again.data[0].id == created.data[1].id  # proj_c keeps its permission
    b, c, d = created.data[0].id, created.data[1].id, again.data[1].id

    listed = permissions(a).list(CHECKPOINT)
    assert [p.id for p in listed.data] == [d, c, b]  # newest first
    assert (listed.first_id, listed.last_id, listed.has_more) == (d, b, False)
    page = permissions(a).list(CHECKPOINT, limit=2, order="ascending")
    assert ([p.id for p in page.data], page.has_more) == ([b, c], True)
    assert [p.id for p in permissions(a).list(CHECKPOINT, limit=1)] == [d, c, b]  # the SDK pages on
    assert [p.id for p in permissions(a).list(CHECKPOINT, after=c).data] == [b]
    assert [p.id for p in permissions(a).list(CHECKPOINT, project_id="proj_c").data] == [c]
    empty = permissions(a).list(CHECKPOINT, project_id="proj_x")
    assert (empty.data, empty.first_id, empty.last_id, empty.has_more) == ([], None, None, False)
    assert permissions(a).list(CHECKPOINT, limit=0).has_more
    with pytest.warns(DeprecationWarning):
        assert [p.id for p in permissions(a).retrieve(CHECKPOINT).data] == [d, c, b]

    deleted = permissions(a).delete(c, fine_tuned_model_checkpoint=CHECKPOINT)
    assert (deleted.id, deleted.object, deleted.deleted) == (c, "checkpoint.permission", True)
    assert [p.id for p in permissions(a).list(CHECKPOINT).data] == [d, b]
    with pytest.raises(openai.NotFoundError) as gone:
        permissions(a).delete(c, fine_tuned_model_checkpoint=CHECKPOINT)
    assert (gone.value.code, gone.value.param) == ("permission_not_found", "permission_id")


def test_only_the_owning_project_manages_permissions(sdks):
    [granted] = permissions(sdks["a"]).create(CHECKPOINT, project_ids=["proj_b"]).data
    for project in "bx":  # shared with b or not, it is not b's to manage
        calls = (
            lambda client: permissions(client).create(CHECKPOINT, project_ids=["proj_c"]),
            lambda client: permissions(client).list(CHECKPOINT),
            lambda client: permissions(client).delete(granted.id, fine_tuned_model_checkpoint=CHECKPOINT),
        )
        for call in calls:
            with pytest.raises(openai.NotFoundError) as hidden:
                call(sdks[project])
            assert (hidden.value.code, hidden.value.param) == (
                "model_not_found",
                "fine_tuned_model_checkpoint",
            )
            assert hidden.value.type == "invalid_request_error"
    for name in ("ft:gpt-4o-mini-2024-07-18:acme::Missing0", "gpt-4o-mini"):
        with pytest.raises(openai.NotFoundError):
            permissions(sdks["a"]).create(name, project_ids=["proj_b"])
    assert [p.id for p in permissions(sdks["a"]).list(CHECKPOINT).data] == [granted.id]


@pytest.mark.parametrize(
    ("project_ids", "param", "code"),
    [
        ([], "project_ids", "array_below_min_length"),
        (["proj_b", "proj_a"], "project_ids[1]", "invalid_value"),  # its own project
        (["proj_b", "proj_nope"], "project_ids[1]", "project_not_found"),
        (["proj_x"], "project_ids[0]", "project_not_found"),  # another organization's
        (["p" * 65], "project_ids[0]", "string_above_max_length"),
        ([""], "project_ids[0]", "string_below_min_length"),
        ([7], "project_ids[0]", "invalid_type"),
    ],
)
def test_bad_project_ids_are_400_naming_the_item(sdks, project_ids, param, code):
    with pytest.raises(openai.BadRequestError) as refused:
        permissions(sdks["a"]).create(CHECKPOINT, project_ids=project_ids)
    assert (refused.value.param, refused.value.code, refused.value.type) == (
        param,
        code,
        "invalid_request_error",
    )
    assert permissions(sdks["a"]).list(CHECKPOINT).data == []


def test_bad_list_queries_are_400(sdks):
    for query, param in (({"order": "sideways"}, "order"), ({"limit": -1}, "limit")):
        with pytest.raises(openai.BadRequestError) as refused:
            permissions(sdks["a"]).list(CHECKPOINT, extra_query=query)
        assert refused.value.param == param
    with pytest.raises(openai.BadRequestError) as missing:
        permissions(sdks["a"]).create(CHECKPOINT, project_ids=None)  # type: ignore[arg-type]
    assert missing.value.param == "project_ids"


def test_a_shared_checkpoint_is_listed_retrieved_and_fine_tuned_from_until_the_permission_goes(server, sdks):
    a, b, c = sdks["a"], sdks["b"], sdks["c"]
    with pytest.raises(openai.NotFoundError):
        b.models.retrieve(CHECKPOINT)
    with pytest.raises(openai.BadRequestError):
        b.fine_tuning.jobs.create(model=CHECKPOINT, training_file=upload(b, chat_rows(10)))
    [granted] = permissions(a).create(CHECKPOINT, project_ids=["proj_b"]).data

    assert b.models.retrieve(CHECKPOINT).owned_by == "org-acme"
    assert CHECKPOINT in {m.id for m in b.models.list()} and CHECKPOINT not in {m.id for m in c.models.list()}
    job = b.fine_tuning.jobs.create(model=CHECKPOINT, training_file=upload(b, chat_rows(10)))
    assert job.model == CHECKPOINT
    with server.services.db.read() as session:
        row = job_store.get_job(session, project_id="proj_b", job_id=job.id)
        assert (row.base_model, row.base_project_id) == (CHECKPOINT, "proj_a")  # where it trains from
    with pytest.raises(openai.NotFoundError):
        b.models.delete(CHECKPOINT)  # the owner's to delete

    permissions(a).delete(granted.id, fine_tuned_model_checkpoint=CHECKPOINT)
    with pytest.raises(openai.NotFoundError):
        b.models.retrieve(CHECKPOINT)
    assert CHECKPOINT not in {m.id for m in b.models.list()}
    with pytest.raises(openai.BadRequestError) as refused:
        b.fine_tuning.jobs.create(model=CHECKPOINT, training_file=upload(b, chat_rows(10)))
    assert (refused.value.param, refused.value.code) == ("model", "model_not_available")
    assert b.fine_tuning.jobs.retrieve(job.id).model == CHECKPOINT  # the job made meanwhile stays b's
    assert a.models.retrieve(CHECKPOINT).id == CHECKPOINT


def test_a_deleted_checkpoint_is_no_longer_shared_nor_managed(sdks):
    a, b = sdks["a"], sdks["b"]
    permissions(a).create(CHECKPOINT, project_ids=["proj_b"])
    a.models.delete(CHECKPOINT)
    assert CHECKPOINT not in {m.id for m in b.models.list()}
    with pytest.raises(openai.NotFoundError):
        permissions(a).list(CHECKPOINT)

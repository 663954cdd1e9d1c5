"""Fine-tuning jobs: create, validation stage, list, retrieve, cancel/pause/resume, events, checkpoints."""

from __future__ import annotations

import openai
import pytest

from support.clients import sync_client
from support.data import chat_rows, preference_rows, upload, wait_for_status


def test_create_validates_then_queues_with_lifecycle_events(client):
    training = upload(client, chat_rows(12))
    validation = upload(client, chat_rows(3))
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini", training_file=training, validation_file=validation, suffix="geo"
    )
    assert job.status == "validating_files" and job.id.startswith("ftjob-")
    assert job.model == "gpt-4o-mini-2024-07-18" and job.organization_id == "org-openft"
    assert job.error is None and job.fine_tuned_model is None and job.result_files == []
    assert 0 <= job.seed <= 2147483647
    assert job.hyperparameters.n_epochs == "auto" and job.method.type == "supervised"
    assert job.method.supervised.hyperparameters.batch_size == "auto"
    assert job.user_provided_suffix == "geo"

    queued = wait_for_status(client, job.id, {"queued", "failed"})
    assert queued.status == "queued", queued.error
    messages = [event.message for event in client.fine_tuning.jobs.list_events(job.id)]
    assert messages == [
        "Files validated, moving job to queued state",
        f"Validating training file: {training} and validation file: {validation}",
        f"Created fine-tuning job: {job.id}",
    ]


def test_too_few_examples_fails_with_invalid_n_examples(client):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(7)))
    failed = wait_for_status(client, job.id, {"failed", "queued"})
    assert failed.status == "failed"
    assert failed.error.code == "invalid_n_examples" and failed.error.param == "training_file"
    assert failed.error.message == "Training file has 7 example(s), but must have at least 10 examples"
    assert failed.finished_at is not None
    events = list(client.fine_tuning.jobs.list_events(job.id))
    assert events[0].level == "error" and events[0].message == failed.error.message
    assert len(events) == 3  # nothing is lost: the lifecycle events stay


def test_every_bad_row_is_reported_with_line_and_field(client):
    rows = chat_rows(12)
    rows[2]["messages"][1] = {"content": "no role"}
    rows[5]["messages"][2]["weight"] = 3
    rows[9] = {"messages": [{"role": "user", "content": "no answer"}]}
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, rows))
    failed = wait_for_status(client, job.id, {"failed", "queued"})
    assert failed.error.code == "invalid_training_file" and failed.error.param == "training_file"
    message = failed.error.message
    assert message.startswith("The job failed due to an invalid training file. Invalid file format.")
    assert "Example 3, message 2" in message and "Example 6, message 3" in message and "Example 10" in message


def test_preference_file_for_a_supervised_job_fails_validation(client):
    training = upload(client, preference_rows(10))
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training)
    failed = wait_for_status(client, job.id, {"failed", "queued"})
    assert failed.status == "failed"
    assert f"Input file {training} is in the fine-tune-preference format" in failed.error.message


def test_chat_file_for_a_dpo_job_fails_with_the_reference_message(client):
    training = upload(client, chat_rows(10))
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training, method={"type": "dpo"})
    failed = wait_for_status(client, job.id, {"failed", "queued"})
    assert failed.error.message == (
        "The job failed due to an invalid training file. Invalid file format. "
        f"Input file {training} is in the fine-tune-chat format, "
        "but the specified fine-tuning job is not using 'supervised' as the training method "
        "(provided method=dpo). "
    )


def test_dpo_job_echoes_method_and_keeps_hyperparameters_an_object(client):
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=upload(client, preference_rows(10)),
        method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2, "n_epochs": 2}}},
    )
    assert job.method.dpo.hyperparameters.beta == 0.2 and job.method.dpo.hyperparameters.batch_size == "auto"
    assert job.hyperparameters.n_epochs == 2
    assert wait_for_status(client, job.id, {"queued", "failed"}).status == "queued"


def test_deprecated_hyperparameters_map_into_the_supervised_method(client):
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=upload(client, chat_rows(10)),
        hyperparameters={"n_epochs": 3, "batch_size": 2},
    )
    assert job.method.type == "supervised"
    assert job.method.supervised.hyperparameters.n_epochs == 3 and job.hyperparameters.batch_size == 2


def test_seed_metadata_and_integrations_are_echoed(client):
    job = client.fine_tuning.jobs.create(
        model="gpt-4o-mini",
        training_file=upload(client, chat_rows(10)),
        seed=42,
        metadata={"team": "geo"},
        integrations=[{"type": "wandb", "wandb": {"project": "p", "tags": ["a"]}}],
    )
    assert job.seed == 42 and job.metadata == {"team": "geo"}
    assert job.integrations[0].wandb.project == "p" and job.integrations[0].wandb.tags == ["a"]
    assert job.integrations[0].wandb.run_id == job.id
    again = client.fine_tuning.jobs.retrieve(job.id)
    assert (again.seed, again.metadata, again.integrations) == (job.seed, job.metadata, job.integrations)


def test_list_pages_newest_first_and_filters_by_metadata(make_server):
    server = make_server()
    with sync_client(server.url) as client:
        training = upload(client, chat_rows(10))
        ids = [
            client.fine_tuning.jobs.create(
                model="gpt-4o-mini", training_file=training, metadata={"n": str(i), "even": str(i % 2 == 0)}
            ).id
            for i in range(5)
        ]
        plain = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training).id
        assert [job.id for job in client.fine_tuning.jobs.list(limit=2)] == [plain, *ids[::-1]]
        page = client.fine_tuning.jobs.list(limit=2)
        assert len(page.data) == 2 and page.has_more
        evens = [job.id for job in client.fine_tuning.jobs.list(metadata={"even": "True"})]
        assert evens == [ids[4], ids[2], ids[0]]
        assert [job.id for job in client.fine_tuning.jobs.list(metadata={"even": "True", "n": "2"})] == [
            ids[2]
        ]
        assert [job.id for job in client.fine_tuning.jobs.list(extra_query={"metadata": "null"})] == [plain]


def test_cancel_and_state_machine_refusals_are_400(client):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    wait_for_status(client, job.id, {"queued"})
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.pause(job.id)
    assert caught.value.code == "invalid_job_status"
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at is not None
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.cancel(job.id)
    assert "cancelled" in caught.value.message
    assert client.fine_tuning.jobs.list_events(job.id).data[0].message == "Fine-tuning job cancelled"


def test_pause_and_resume_follow_the_transition_table(server, client):
    """A running job pauses and resumes to queued (the trainer drives running; set it via the store)."""
    from openft.store import jobs as job_store

    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    wait_for_status(client, job.id, {"queued"})
    with server.services.db.write() as session:
        job_store.transition(
            session, job=job_store.get_job_any_project(session, job_id=job.id), action="start"
        )
    raw = client.fine_tuning.jobs.with_raw_response.pause(job.id)
    assert raw.http_response.json()["status"] == "paused"  # not in the SDK's enum: read the raw body
    resumed = client.fine_tuning.jobs.resume(job.id)
    assert resumed.status == "queued"


def test_unknown_job_is_404_in_openai_shape(client):
    with pytest.raises(openai.NotFoundError) as caught:
        client.fine_tuning.jobs.retrieve("ftjob-nope")
    assert caught.value.body == {
        "message": "Could not find fine tune: ftjob-nope",
        "type": "invalid_request_error",
        "param": "fine_tune_id",
        "code": "fine_tune_not_found",
    }
    for call in (
        client.fine_tuning.jobs.cancel,
        client.fine_tuning.jobs.list_events,
        client.fine_tuning.jobs.checkpoints.list,
    ):
        with pytest.raises(openai.NotFoundError):
            call("ftjob-nope")


def test_events_and_checkpoints_paginate(client):
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, chat_rows(10)))
    wait_for_status(client, job.id, {"queued"})
    first = client.fine_tuning.jobs.list_events(job.id, limit=1)
    assert len(first.data) == 1 and first.has_more
    rest = client.fine_tuning.jobs.list_events(job.id, after=first.data[0].id, limit=10)
    assert [e.message for e in rest.data][-1] == f"Created fine-tuning job: {job.id}" and not rest.has_more
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id)
    assert checkpoints.data == [] and checkpoints.has_more is False


def test_files_of_another_purpose_or_unknown_are_400_with_param(client):
    other = client.files.create(file=("x.txt", b"hello"), purpose="user_data").id
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=other)
    assert caught.value.param == "training_file" and caught.value.code == "invalid_file_purpose"
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=upload(client, chat_rows(10)), validation_file="file-missing"
        )
    assert caught.value.param == "validation_file"


def test_deleted_training_file_fails_validation_cleanly(server, client):
    training = upload(client, chat_rows(10))
    # The validator may look before or after the delete; either outcome must be clean.
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=training)
    client.files.delete(training)
    final = wait_for_status(client, job.id, {"queued", "failed"})
    if final.status == "failed":
        assert final.error.code == "invalid_training_file" and training in final.error.message

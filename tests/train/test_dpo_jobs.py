"""DPO jobs end to end on the tiny model, driven through the official SDK: format errors, beta
bounds, hyperparameters once running, DPO metrics events, checkpoints and result file, serving
the result, SFT then DPO (and SFT from an ft: checkpoint), and cancel."""

from __future__ import annotations

import base64
import time

import openai
import pytest
from sqlalchemy import select

from openft.store.tables import ModelRow
from support.clients import sync_client
from support.data import (
    chat_rows,
    preference_rows,
    step_metrics,
    upload,
    wait_for_metrics,
    wait_for_no_training,
    wait_for_status,
)

pytestmark = pytest.mark.train

FINISHED = {"succeeded", "failed", "cancelled"}
DPO_COLUMNS = (
    "step,train_loss,train_rewards_chosen,train_rewards_rejected,train_reward_margin,train_reward_accuracy,"
    "valid_loss,valid_rewards_chosen,valid_rewards_rejected,valid_reward_margin,valid_reward_accuracy"
)


def dpo(**hyperparameters) -> dict:
    return {"type": "dpo", "dpo": {"hyperparameters": hyperparameters}}


def sft(**hyperparameters) -> dict:
    return {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}


def test_files_in_the_wrong_format_or_with_bad_rows_fail_with_line_and_field(tiny_server):
    bad = preference_rows(10)
    bad[1] = {**bad[1], "preferred_output": [{"role": "assistant", "content": ["not text"]}]}
    bad[2] = {**bad[2], "input": {"messages": [{"role": "robot", "content": "hi"}]}}
    with sync_client(tiny_server(embedded_worker=False).url) as client:
        chat, preference = upload(client, chat_rows(10)), upload(client, preference_rows(10))
        cases = {
            "rows": client.fine_tuning.jobs.create(
                model="tiny", training_file=upload(client, bad), method=dpo()
            ),
            "chat": client.fine_tuning.jobs.create(model="tiny", training_file=chat, method=dpo()),
            "preference": client.fine_tuning.jobs.create(
                model="tiny", training_file=preference, method=sft()
            ),
            "validation": client.fine_tuning.jobs.create(
                model="tiny", training_file=preference, validation_file=chat, method=dpo()
            ),
        }
        errors = {
            name: wait_for_status(client, job.id, FINISHED | {"queued"}).error for name, job in cases.items()
        }
    lead = "The job failed due to an invalid training file. "
    assert errors["rows"].message == lead + (
        "Invalid file format. Example 2, preferred_output[0]: content must be a string (text only); "
        "Example 3, input message 1 Unrecognized role 'robot'"
    )
    assert errors["chat"].message == lead + (
        f"Invalid file format. Input file {chat} is in the fine-tune-chat format, "
        "but the specified fine-tuning job "
        "is not using 'supervised' as the training method (provided method=dpo). "
    )
    assert errors["preference"].message == lead + (
        f"Invalid file format. Input file {preference} is in the fine-tune-preference format, "
        "but the specified "
        "fine-tuning job is not using 'dpo' as the training method (provided method=supervised). "
    )
    assert (errors["validation"].code, errors["validation"].param) == (
        "invalid_validation_file",
        "validation_file",
    )


def test_dpo_job_trains_reports_reward_metrics_and_serves_its_model(tiny_server):
    with sync_client(tiny_server().url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, preference_rows(10)),
            suffix="pref",
            validation_file=upload(client, preference_rows(3), filename="valid.jsonl"),
            method=dpo(n_epochs=2, batch_size=5, learning_rate_multiplier=10),
        )
        assert job.method.dpo.hyperparameters.beta == "auto"
        done = wait_for_status(client, job.id, FINISHED, timeout=400)
        assert done.status == "succeeded", done.error
        assert done.fine_tuned_model.startswith("ft:tiny:openft:pref:")
        assert done.method.dpo.hyperparameters.model_dump() == {
            "batch_size": 5,
            "learning_rate_multiplier": 10,
            "n_epochs": 2,
            "beta": 0.1,
        }
        assert (done.hyperparameters.batch_size, done.hyperparameters.n_epochs) == (5, 2)

        steps = step_metrics(client, job.id)
        assert [s["step"] for s in steps] == [1, 2, 3, 4] and steps[-1]["train_reward_margin"] > 0
        assert {
            "train_rewards_chosen",
            "train_rewards_rejected",
            "train_reward_accuracy",
            "valid_reward_margin",
        } <= set(steps[0])
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
        assert any(
            m.startswith(
                "Step 1/4: training loss=0.69, reward margin=0.00, reward accuracy=0.00, validation loss="
            )
            for m in messages
        )
        checkpoint = client.fine_tuning.jobs.checkpoints.list(job.id).data[0]
        assert checkpoint.step_number == 2 and checkpoint.metrics.to_dict()["full_valid_reward_margin"] > 0

        table = base64.b64decode(client.files.content(done.result_files[0]).read()).decode().splitlines()
        assert table[0] == DPO_COLUMNS and len(table) == 5
        reply = client.chat.completions.create(
            model=done.fine_tuned_model, messages=[{"role": "user", "content": "Greet me"}], max_tokens=3
        )
        assert reply.model == done.fine_tuned_model and reply.usage.completion_tokens >= 1


def test_sft_then_dpo_and_sft_from_a_checkpoint_continue_the_adapter(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        for beta in (0, 2.01):
            with pytest.raises(openai.BadRequestError) as refused:
                client.fine_tuning.jobs.create(
                    model="tiny", training_file=upload(client, preference_rows(10)), method=dpo(beta=beta)
                )
            assert refused.value.body["param"] == "method.dpo.hyperparameters.beta"
        chat = upload(client, chat_rows(10))
        first = client.fine_tuning.jobs.create(
            model="tiny", training_file=chat, method=sft(n_epochs=2, batch_size=5)
        )
        first = wait_for_status(client, first.id, FINISHED, timeout=400)
        assert first.status == "succeeded", first.error
        checkpoint = client.fine_tuning.jobs.checkpoints.list(first.id).data[0].fine_tuned_model_checkpoint

        tuned = client.fine_tuning.jobs.create(
            model=first.fine_tuned_model,
            training_file=upload(client, preference_rows(10)),
            method=dpo(n_epochs=1, batch_size=5, beta=2),
        )
        again = client.fine_tuning.jobs.create(
            model=checkpoint, training_file=chat, method=sft(n_epochs=1, batch_size=5)
        )
        tuned, again = (wait_for_status(client, job.id, FINISHED, timeout=400) for job in (tuned, again))
        assert (tuned.status, again.status) == ("succeeded", "succeeded"), (tuned.error, again.error)
        assert tuned.model == first.fine_tuned_model and tuned.method.dpo.hyperparameters.beta == 2
        assert tuned.fine_tuned_model.startswith("ft:tiny:openft::") and again.fine_tuned_model.startswith(
            "ft:tiny:openft::"
        )
        first_step = step_metrics(client, tuned.id)[0]
        assert (
            first_step["train_rewards_chosen"] == 0 == first_step["train_reward_margin"]
        )  # the reference is the SFT model
        assert (
            step_metrics(client, again.id)[0]["train_loss"] < step_metrics(client, first.id)[0]["train_loss"]
        )
        client.chat.completions.create(
            model=tuned.fine_tuned_model, messages=[{"role": "user", "content": "Hi"}], max_tokens=2
        )
    with server.services.db.read() as session:
        bases = session.scalars(select(ModelRow.base_model).where(ModelRow.job_id.in_([tuned.id, again.id])))
        assert set(bases) == {"tiny"}


def test_cancel_stops_a_dpo_job_within_seconds(tiny_server):
    server = tiny_server()
    with sync_client(server.url) as client:
        job = client.fine_tuning.jobs.create(
            model="tiny",
            training_file=upload(client, preference_rows(200)),
            method=dpo(n_epochs=20, batch_size=1),
        )
        wait_for_metrics(client, job.id)
        assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
        wait_for_no_training(server, timeout=15)
        reported = len(step_metrics(client, job.id))
        time.sleep(1)
        assert len(step_metrics(client, job.id)) == reported
        final = client.fine_tuning.jobs.retrieve(job.id)
        assert final.status == "cancelled" and final.fine_tuned_model is None
        assert "Fine-tuning job cancelled" in [
            e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)
        ]

"""Reinforcement jobs end to end on the tiny model, through the official SDK (strict mode): a
python grader and a multi grader as the reward, the §8.7 metrics events, checkpoints by
validation reward, the result file, grader failures failing the job, cancel, pause and resume."""

from __future__ import annotations

import base64

import pytest

from support.clients import sync_client
from support.data import (
    WORD_CHECK,
    prompt_rows,
    step_metrics,
    upload,
    wait_for_metrics,
    wait_for_no_training,
    wait_for_status,
)

pytestmark = pytest.mark.train
CONTEXT = 72  # tokens: the random model never stops, so a short window keeps its samples short


@pytest.fixture(scope="module")
def long_judge_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model with a 2048-token window (rotary positions: the same weights), room for a
    grader's structured answer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), max_position_embeddings=2048)
    path = tmp_path_factory.mktemp("long-judge")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(str(tiny_model_dir)).save_pretrained(path)
    return path


@pytest.fixture
def rft_server(make_server, tiny_model_dir, long_judge_dir):
    from openft.config import BaseModelConfig

    tiny = BaseModelConfig(source=str(tiny_model_dir), context_length=CONTEXT, base_learning_rate=1e-3)
    judge = BaseModelConfig(source=str(tiny_model_dir), context_length=1024)  # a grader model's window
    long_judge = BaseModelConfig(source=str(long_judge_dir), context_length=2048)
    return lambda: make_server(
        base_models={"tiny": tiny, "judge": judge, "long-judge": long_judge},
        model_aliases={},
        embedded_worker=True,
        worker_poll_seconds=0.2,
        stop_grace_seconds=45,  # an RL step takes ~20 s on a loaded CPU: a pause ends it, not a kill
    )


PYTHON = {
    "type": "python",
    "name": "short",
    "source": "def grade(sample, item):\n    return 1.0 if len(sample['output_text']) < 40 else 0.25\n",
    "pass_threshold": 0.5,
}
MULTI = {  # no top-level name, as OpenAI's RFT notebook writes it
    "type": "multi",
    "graders": {
        "short": PYTHON,
        "word": WORD_CHECK,
    },
    "calculate_output": "0.5 * short + 0.5 * word",
}
TINY = {"batch_size": 5, "compute_multiplier": 0.5, "eval_samples": 1, "reasoning_effort": "low"}


def create(client, grader: dict, *, train: int = 10, valid: int = 2, **hyperparameters):
    return client.fine_tuning.jobs.create(
        model="tiny",
        training_file=upload(client, prompt_rows(train)),
        validation_file=upload(client, prompt_rows(valid), filename="valid.jsonl") if valid else None,
        suffix="rft",
        method={
            "type": "reinforcement",
            "reinforcement": {"grader": grader, "hyperparameters": {**TINY, **hyperparameters}},
        },
    )


def test_multi_grader_job_reports_rft_metrics_checkpoints_and_results(rft_server):
    server = rft_server()
    with sync_client(server.url, strict=False) as client:  # the SDK mistypes multi graders (§6.7)
        job = create(client, MULTI, n_epochs=2, eval_interval=2)
        assert job.method.reinforcement.grader.name == "multi"
        done = wait_for_status(client, job.id, {"succeeded", "failed", "cancelled"}, timeout=600)
        assert done.status == "succeeded", done.error
        shown = done.method.reinforcement.hyperparameters.model_dump()
        assert shown["compute_multiplier"] == 0.5 and shown["eval_interval"] == 2

        data = step_metrics(client, job.id)
        assert [d["step"] for d in data] == [0, 1, 2, 3, 4]
        assert [d["step"] for d in data if "full_valid_mean_reward" in d] == [0, 2, 4]
        step2 = data[2]
        assert step2["total_steps"] == 4 and 0 <= step2["train_mean_reward"] <= 1
        graders = {g["name"]: g for g in step2["scores"]["graders"]}
        assert set(graders) == {"multi", "short", "word"}
        assert 0 <= graders["short"]["train_pass_rate"] <= 1  # pass_threshold: a pass rate
        assert step2["errors"]["graders"][0]["train_python_grader_runtime_error_count"] == 0.0

        events = client.fine_tuning.jobs.list_events(job.id, limit=100).data
        message = next(e.message for e in events if e.type == "metrics" and e.data["step"] == 2)
        assert (
            message.startswith("Step 2/4, train mean reward=") and "full validation mean reward=" in message
        )

        checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in checkpoints] == [2]
        assert checkpoints[0].fine_tuned_model_checkpoint.endswith(":ckpt-step-2")
        csv_text = base64.b64decode(client.files.content(done.result_files[0]).read()).decode()
        lines = csv_text.splitlines()
        assert lines[0] == (
            "step,train_mean_reward,full_valid_mean_reward,train_error_rate,"
            "full_valid_error_rate,completion_tokens_mean"
        )
        assert [line.split(",")[0] for line in lines[1:]] == ["0", "1", "2", "3", "4"]

        for model in (done.fine_tuned_model, checkpoints[0].fine_tuned_model_checkpoint):
            reply = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "Say hi."}], max_tokens=5
            )
            assert reply.choices[0].message.role == "assistant"


def test_a_grader_that_fails_on_most_samples_fails_the_job_quoting_failures(rft_server):
    broken = {**PYTHON, "source": "def grade(sample, item):\n    return 1 / 0\n"}
    server = rft_server()
    with sync_client(server.url) as client:
        job = create(client, broken, n_epochs=3)
        failed = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=600)
        assert failed.status == "failed" and failed.error.code == "grader_failed"
        assert "python_grader_runtime_error" in failed.error.message
        assert "ZeroDivisionError" in failed.error.message
        counted = step_metrics(client, job.id)[-1]["errors"]["graders"][0]
        assert counted["train_python_grader_runtime_error_count"] > 0


def test_cancel_and_pause_resume_mid_run(rft_server):
    string_check = MULTI["graders"]["word"]
    server = rft_server()
    with sync_client(server.url) as client:
        cancelled = create(client, string_check, train=40, valid=0, n_epochs=5)
        wait_for_metrics(client, cancelled.id, timeout=300)
        assert client.fine_tuning.jobs.cancel(cancelled.id).status == "cancelled"
        wait_for_no_training(server, timeout=120)
        assert client.fine_tuning.jobs.retrieve(cancelled.id).fine_tuned_model is None

        job = create(client, string_check, valid=2, n_epochs=2, batch_size=2, eval_interval=100)
        wait_for_metrics(client, job.id, timeout=300)
        assert step_metrics(client, job.id)[0]["step"] == 0
        paused = client.fine_tuning.jobs.with_raw_response.pause(job.id).http_response.json()
        assert paused["status"] == "paused"
        wait_for_no_training(server, timeout=120)
        assert client.fine_tuning.jobs.resume(job.id).status == "queued"
        done = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=600)
        assert done.status == "succeeded", done.error
        steps = [d["step"] for d in step_metrics(client, job.id)]
        assert steps == list(range(11))  # step 0 evaluated once, no step trained twice, none skipped
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=1000)]
        assert any(m.startswith("Resuming training from step ") for m in messages)


def test_a_score_model_grader_reaches_the_engine_inside_the_training_job(rft_server):
    """The grader model is the server's own engine, loaded in the training process. The tiny
    model's 256-token window cannot hold a grader answer, so every grading is the engine's
    model_grader_server_error and the failure threshold fails the job, quoting the engine."""
    score_model = {
        "type": "score_model",
        "name": "judge",
        "model": "judge",
        "input": [{"role": "user", "content": "Score this answer from 0 to 1: {{ sample.output_text }}"}],
        "sampling_params": {"max_completions_tokens": 600, "seed": 1},
    }
    server = rft_server()
    with sync_client(server.url) as client:
        job = create(client, score_model, valid=0, n_epochs=1, compute_multiplier=0.5)
        done = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=900)
        assert done.status == "failed" and done.error.code == "grader_failed"
        assert (
            "model_grader_server_error" in done.error.message
            and "600 in the completion" in done.error.message
        )


def test_a_score_model_grader_on_the_engine_scores_every_sample_and_counts_its_tokens(rft_server):
    """With room for its answer, the in-process grader model (held to the score schema) grades
    every sample: the job succeeds and each step reports the grader model's token usage."""
    score_model = {
        "type": "score_model",
        "name": "judge",
        "model": "long-judge",
        "input": [{"role": "user", "content": "Score this answer from 0 to 1: {{ sample.output_text }}"}],
        "sampling_params": {"max_completions_tokens": 1200, "seed": 1},
        "range": [0, 1],
    }
    server = rft_server()
    with sync_client(server.url) as client:
        job = create(client, score_model, valid=0, n_epochs=1)
        done = wait_for_status(client, job.id, {"succeeded", "failed"}, timeout=900)
        assert done.status == "succeeded", done.error
        data = step_metrics(client, job.id)
        assert [d["step"] for d in data] == [1, 2]
        for step in data:
            assert 0.0 <= step["train_mean_reward"] <= 1.0
            assert step["errors"]["graders"][0]["train_model_grader_server_error_count"] == 0.0
            usage = step["usage"]["graders"][0]
            assert usage["model"] == "long-judge"
            assert usage["train_prompt_tokens_count"] > 0 and usage["train_completion_tokens_count"] > 0

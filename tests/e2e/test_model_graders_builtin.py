"""score_model and label_model graded by the built-in SmolLM2-135M-Instruct on this server's own
engine (the model name is an OpenAI alias), through /fine_tuning/alpha/graders/run and the SDK.

A 135M model is no judge: these tests check the mechanics on a real model (structured output
that always parses, the reward kind and range, token usage, the snapshot name, determinism
with a seed), not the quality of its verdicts."""

from __future__ import annotations

import pytest

from support.clients import sync_client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

LABEL = {
    "type": "label_model",
    "name": "sentiment",
    "model": "gpt-4o-mini",
    "input": [
        {
            "type": "message",
            "role": "system",
            "content": {
                "type": "input_text",
                "text": "Classify the sentiment of the statement as positive, neutral or negative.",
            },
        },
        {
            "type": "message",
            "role": "user",
            "content": {"type": "input_text", "text": "Statement: {{item.statement}}"},
        },
    ],
    "labels": ["positive", "neutral", "negative"],
    "passing_labels": ["positive"],
}
SCORE = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-mini",
    "range": [0, 1],
    "input": [
        {"role": "system", "content": "You grade answers. Give a score between 0 and 1."},
        {
            "role": "user",
            "content": "Question: What is the capital of France?\nReference: {{item.reference}}\n"
            "Answer: {{sample.output_text}}",
        },
    ],
    "sampling_params": {"temperature": 0, "seed": 7, "max_completions_tokens": 400},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory, builtin_dir):
    from openft.config import Settings
    from support.server import RunningServer

    data_dir = tmp_path_factory.mktemp("graders-builtin")
    (data_dir / "models").symlink_to(builtin_dir.parent, target_is_directory=True)
    server = RunningServer(Settings(data_dir=data_dir, embedded_worker=False)).start()
    with sync_client(server.url, timeout=1200) as sdk:
        yield sdk
    server.stop()


def assert_model_usage(result):
    usage = result.api_model_grader_token_usage_per_model
    assert list(usage) == ["gpt-4o-mini-2024-07-18"] == [result.metadata.sampled_model_name]
    tokens = usage["gpt-4o-mini-2024-07-18"]
    assert tokens["prompt_tokens"] > 20 and tokens["completion_tokens"] > 5
    assert (
        tokens["total_tokens"]
        == tokens["prompt_tokens"] + tokens["completion_tokens"]
        == result.metadata.token_usage
    )


def test_label_model_on_the_builtin_model(client):
    result = client.fine_tuning.alpha.graders.run(
        grader=LABEL, model_sample="unused", item={"statement": "I love this wonderful sunny day!"}
    )
    errors = result.metadata.errors
    assert not (errors.api_model_grader_parse_error or errors.api_model_grader_server_error), errors
    assert result.reward in (0.0, 1.0)
    assert result.metadata.type == "label_model"
    assert_model_usage(result)


def test_score_model_on_the_builtin_model(client):
    first = client.fine_tuning.alpha.graders.run(
        grader=SCORE, model_sample="Paris", item={"reference": "Paris"}
    )
    errors = first.metadata.errors
    assert not (errors.api_model_grader_parse_error or errors.api_model_grader_server_error), errors
    assert 0.0 <= first.reward <= 1.0
    assert_model_usage(first)
    again = client.fine_tuning.alpha.graders.run(
        grader=SCORE, model_sample="Paris", item={"reference": "Paris"}
    )
    assert again.reward == first.reward  # greedy with a seed: the same verdict
    assert again.metadata.token_usage == first.metadata.token_usage

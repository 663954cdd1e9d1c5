"""Bad input of every kind gets a 400 whose `param` names the field (sent through the SDK)."""

from __future__ import annotations

import httpx2
import openai
import pytest

from support.data import chat_rows, upload

GRADER = {
    "type": "string_check",
    "name": "g",
    "input": "{{sample.output_text}}",
    "reference": "{{item.label}}",
    "operation": "eq",
}


def sft(**hyperparameters):
    return {"type": "supervised", "supervised": {"hyperparameters": hyperparameters}}


def dpo(**hyperparameters):
    return {"type": "dpo", "dpo": {"hyperparameters": hyperparameters}}


def rl(grader=GRADER, **hyperparameters):
    return {"type": "reinforcement", "reinforcement": {"grader": grader, "hyperparameters": hyperparameters}}


CASES = [
    # (id, body overrides, expected param)
    ("missing model", {"model": None}, "model"),
    ("model wrong type", {"model": 5}, "model"),
    ("empty model", {"model": ""}, "model"),
    ("unknown model", {"model": "no-such-model"}, "model"),
    ("unknown ft model", {"model": "ft:gpt-4o-mini-2024-07-18:org::nope"}, "model"),
    ("missing training_file", {"training_file": None}, "training_file"),
    ("unknown training_file", {"training_file": "file-nope"}, "training_file"),
    ("training_file wrong type", {"training_file": ["file-x"]}, "training_file"),
    ("unknown validation_file", {"validation_file": "file-nope"}, "validation_file"),
    ("suffix empty", {"suffix": ""}, "suffix"),
    ("suffix too long", {"suffix": "x" * 65}, "suffix"),
    ("suffix with colon", {"suffix": "a:b"}, "suffix"),
    ("suffix with slash", {"suffix": "a/b"}, "suffix"),
    ("seed negative", {"seed": -1}, "seed"),
    ("seed too large", {"seed": 2147483648}, "seed"),
    ("seed not integer", {"seed": "42"}, "seed"),
    ("metadata too many pairs", {"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
    (
        "metadata key too long",
        {"metadata": {"k" * 65: "v"}},
        "metadata.kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk",
    ),
    ("metadata value too long", {"metadata": {"k": "v" * 513}}, "metadata.k"),
    ("metadata value not string", {"metadata": {"k": 1}}, "metadata.k"),
    (
        "integrations wrong type",
        {"integrations": [{"type": "slack", "wandb": {"project": "p"}}]},
        "integrations[0].type",
    ),
    (
        "integrations missing project",
        {"integrations": [{"type": "wandb", "wandb": {}}]},
        "integrations[0].wandb.project",
    ),
    (
        "integrations too many",
        {"integrations": [{"type": "wandb", "wandb": {"project": "p"}}] * 6},
        "integrations",
    ),
    (
        "integration tag too long",
        {"integrations": [{"type": "wandb", "wandb": {"project": "p", "tags": ["t" * 65]}}]},
        "integrations[0].wandb.tags[0]",
    ),
    ("unknown top-level field", {"colour": "blue"}, "colour"),
    ("method type unknown", {"method": {"type": "rlhf"}}, "method.type"),
    ("method type missing", {"method": {}}, "method.type"),
    ("n_epochs zero", {"method": sft(n_epochs=0)}, "method.supervised.hyperparameters.n_epochs"),
    ("n_epochs too many", {"method": sft(n_epochs=51)}, "method.supervised.hyperparameters.n_epochs"),
    ("n_epochs fractional", {"method": sft(n_epochs=2.5)}, "method.supervised.hyperparameters.n_epochs"),
    ("n_epochs bad string", {"method": sft(n_epochs="lots")}, "method.supervised.hyperparameters.n_epochs"),
    ("batch_size zero", {"method": sft(batch_size=0)}, "method.supervised.hyperparameters.batch_size"),
    ("batch_size too big", {"method": sft(batch_size=257)}, "method.supervised.hyperparameters.batch_size"),
    (
        "lr multiplier zero",
        {"method": sft(learning_rate_multiplier=0)},
        "method.supervised.hyperparameters.learning_rate_multiplier",
    ),
    (
        "lr multiplier negative",
        {"method": sft(learning_rate_multiplier=-1.5)},
        "method.supervised.hyperparameters.learning_rate_multiplier",
    ),
    (
        "lr multiplier boolean",
        {"method": sft(learning_rate_multiplier=True)},
        "method.supervised.hyperparameters.learning_rate_multiplier",
    ),
    ("unknown hyperparameter", {"method": sft(warmup=3)}, "method.supervised.hyperparameters.warmup"),
    ("deprecated n_epochs zero", {"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs"),
    ("deprecated with dpo", {"hyperparameters": {"n_epochs": 2}, "method": dpo()}, "hyperparameters"),
    ("beta zero", {"method": dpo(beta=0)}, "method.dpo.hyperparameters.beta"),
    ("beta above two", {"method": dpo(beta=2.5)}, "method.dpo.hyperparameters.beta"),
    ("beta string", {"method": dpo(beta="high")}, "method.dpo.hyperparameters.beta"),
    ("rl without grader", {"method": {"type": "reinforcement"}}, "method"),
    (
        "rl grader missing",
        {"method": {"type": "reinforcement", "reinforcement": {}}},
        "method.reinforcement.grader",
    ),
    (
        "rl reasoning effort",
        {"method": rl(reasoning_effort="extreme")},
        "method.reinforcement.hyperparameters.reasoning_effort",
    ),
    (
        "rl compute multiplier",
        {"method": rl(compute_multiplier=11)},
        "method.reinforcement.hyperparameters.compute_multiplier",
    ),
    (
        "rl eval_interval",
        {"method": rl(eval_interval=0)},
        "method.reinforcement.hyperparameters.eval_interval",
    ),
    ("rl eval_samples", {"method": rl(eval_samples=-2)}, "method.reinforcement.hyperparameters.eval_samples"),
    (
        "grader bad operation",
        {"method": rl({**GRADER, "operation": "contains"})},
        "method.reinforcement.grader.operation",
    ),
    (
        "grader missing input",
        {"method": rl({k: v for k, v in GRADER.items() if k != "input"})},
        "method.reinforcement.grader.input",
    ),
    ("grader unknown type", {"method": rl({**GRADER, "type": "regex"})}, "method.reinforcement.grader.type"),
    (
        "label_model at top level",
        {
            "method": rl(
                {
                    "type": "label_model",
                    "name": "l",
                    "model": "gpt-4o-mini",
                    "input": [{"role": "user", "content": "x"}],
                    "labels": ["a"],
                    "passing_labels": ["a"],
                }
            )
        },
        "method.reinforcement.grader.type",
    ),
    (
        "text_similarity bad metric",
        {
            "method": rl(
                {
                    "type": "text_similarity",
                    "name": "t",
                    "input": "{{sample.output_text}}",
                    "reference": "x",
                    "evaluation_metric": "jaccard",
                }
            )
        },
        "method.reinforcement.grader.evaluation_metric",
    ),
    (
        "python grader without grade",
        {"method": rl({"type": "python", "name": "p", "source": "def score(a, b):\n    return 1"})},
        "method.reinforcement.grader.source",
    ),
    (
        "score_model bad range",
        {
            "method": rl(
                {
                    "type": "score_model",
                    "name": "s",
                    "model": "gpt-4o-mini",
                    "input": [{"role": "user", "content": "x"}],
                    "range": [1, 0],
                }
            )
        },
        "method.reinforcement.grader.range",
    ),
    (
        "multi bad formula",
        {"method": rl({"type": "multi", "name": "m", "graders": {"a": GRADER}, "calculate_output": "(a +"})},
        "method.reinforcement.grader.calculate_output",
    ),
    (
        "multi unknown variable",
        {"method": rl({"type": "multi", "name": "m", "graders": {"a": GRADER}, "calculate_output": "a + b"})},
        "method.reinforcement.grader.calculate_output",
    ),
    (
        "template bad namespace",
        {"method": rl({**GRADER, "reference": "{{ row.label }}"})},
        "method.reinforcement.grader.reference",
    ),
]


@pytest.fixture(scope="module")
def training_file(server):
    from support.clients import sync_client

    with sync_client(server.url) as client:
        return upload(client, chat_rows(10))


@pytest.mark.parametrize(
    ("overrides", "param"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_create_job_rejects_with_param(client, training_file, overrides, param):
    body = {"model": "gpt-4o-mini", "training_file": training_file, **overrides}
    body = {key: value for key, value in body.items() if value is not None}
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/fine_tuning/jobs", body=body, cast_to=httpx2.Response)
    error = caught.value.body
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error["message"]
    assert error["message"]


def test_the_table_is_large_enough():
    assert len(CASES) >= 40


def test_malformed_json_body_is_a_400(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.post(
            "/fine_tuning/jobs",
            content=b"{not json",
            cast_to=httpx2.Response,
            options={"headers": {"content-type": "application/json"}},
        )
    assert "parse the JSON body" in caught.value.message


@pytest.mark.parametrize(
    ("path", "query", "param"),
    [
        ("/files", {"order": "sideways"}, "order"),
        ("/files", {"limit": 10001}, "limit"),
        ("/fine_tuning/jobs", {"limit": -1}, "limit"),
        ("/fine_tuning/jobs", {"limit": "many"}, "limit"),
    ],
)
def test_bad_query_parameters_name_the_param(client, path, query, param):
    with pytest.raises(openai.BadRequestError) as caught:
        client.get(path, options={"params": query}, cast_to=httpx2.Response)
    assert caught.value.param == param

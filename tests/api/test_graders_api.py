"""/v1/fine_tuning/alpha/graders/run and /validate through the official SDK in strict mode
(every response also checked against the OpenAPI subset): the response shapes, every grader
type, 400s naming the field, and python graders that cannot hurt the server."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from support.chat_endpoint import ChatEndpoint, Reply
from support.clients import sync_client

CHECK = {
    "type": "string_check",
    "name": "Example string check grader",
    "input": "{{sample.output_text}}",
    "reference": "{{item.label}}",
    "operation": "eq",
}
SIMILAR = {
    "type": "text_similarity",
    "name": "sim",
    "input": "{{sample.output_json.name}}",
    "reference": "{{item.name}}",
    "evaluation_metric": "fuzzy_match",
}
PYTHON = {
    "type": "python",
    "name": "py",
    "image_tag": "2025-05-08",
    "source": (
        "def grade(sample, item) -> float:\n"
        "    return 1.0 if sample['output_text'] == item['label'] else 0.0\n"
    ),
}
SCORE = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-2024-08-06",
    "range": [0, 1],
    "input": [{"role": "user", "content": "Reference: {{item.label}}. Answer: {{sample.output_text}}"}],
    "sampling_params": {"temperature": 1, "top_p": 1, "seed": 42},
}
ERROR_FLAGS = [
    "formula_parse_error",
    "sample_parse_error",
    "truncated_observation_error",
    "unresponsive_reward_error",
    "invalid_variable_error",
    "other_error",
    "python_grader_server_error",
    "python_grader_runtime_error",
    "model_grader_server_error",
    "model_grader_refusal_error",
    "model_grader_parse_error",
]
ERROR_DETAILS = [
    "python_grader_server_error_type",
    "python_grader_runtime_error_details",
    "model_grader_server_error_details",
]


def raw_run(client, **body) -> dict:
    return client.fine_tuning.alpha.graders.with_raw_response.run(**body).http_response.json()


def test_run_string_check_has_the_full_response_shape(client):
    result = client.fine_tuning.alpha.graders.run(grader=CHECK, model_sample="Paris", item={"label": "Paris"})
    assert result.reward == 1.0
    assert (result.sub_rewards, result.api_model_grader_token_usage_per_model) == ({}, {})
    metadata = result.metadata
    assert (metadata.name, metadata.type, metadata.scores) == (
        "Example string check grader",
        "string_check",
        {},
    )
    assert (metadata.token_usage, metadata.sampled_model_name) == (None, None)
    assert metadata.execution_time >= 0
    body = raw_run(client, grader=CHECK, model_sample="Lyon", item={"label": "Paris"})
    assert body["reward"] == 0.0
    errors = body["metadata"]["errors"]
    assert sorted(errors) == sorted(ERROR_FLAGS + ERROR_DETAILS)
    assert all(errors[flag] is False for flag in ERROR_FLAGS) and all(
        errors[d] is None for d in ERROR_DETAILS
    )


def test_run_without_item(client):
    grader = {**CHECK, "reference": "Paris"}
    assert client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Paris").reward == 1.0
    missing = client.fine_tuning.alpha.graders.run(grader=CHECK, model_sample="Paris")
    assert missing.reward == 0.0 and missing.metadata.errors.invalid_variable_error


def test_run_text_similarity_on_output_json(client):
    result = client.fine_tuning.alpha.graders.run(
        grader=SIMILAR, model_sample='{"name": "abce"}', item={"name": "abcd"}
    )
    assert result.reward == pytest.approx(0.75)
    unparsable = client.fine_tuning.alpha.graders.run(
        grader=SIMILAR, model_sample="abce", item={"name": "abcd"}
    )
    assert unparsable.reward == 0.0 and unparsable.metadata.errors.sample_parse_error


def test_run_python(client):
    result = client.fine_tuning.alpha.graders.run(
        grader=PYTHON, model_sample="Paris", item={"label": "Paris"}
    )
    assert (result.reward, result.metadata.type, result.metadata.token_usage) == (1.0, "python", None)
    broken = {**PYTHON, "source": "def grade(sample, item):\n    return item['nope']\n"}
    failed = client.fine_tuning.alpha.graders.run(grader=broken, model_sample="Paris", item={})
    assert failed.reward == 0.0 and failed.metadata.errors.python_grader_runtime_error
    assert "KeyError: 'nope'" in failed.metadata.errors.python_grader_runtime_error_details


def test_run_multi_with_a_map_of_graders(client):
    grader = {
        "type": "multi",
        "name": "m",
        "calculate_output": "(name + email) / 2",
        "graders": {
            "name": SIMILAR,
            "email": {**CHECK, "input": "{{sample.output_json.email}}", "reference": "{{item.email}}"},
        },
    }
    result = client.fine_tuning.alpha.graders.run(
        grader=grader,
        model_sample='{"name": "abce", "email": "a@b.c"}',
        item={"name": "abcd", "email": "a@b.c"},
    )
    assert result.reward == pytest.approx(0.875)
    assert result.sub_rewards == pytest.approx({"name": 0.75, "email": 1.0})
    assert result.metadata.scores == pytest.approx({"name": 0.75, "email": 1.0})
    assert result.metadata.type == "multi"


def test_run_multi_with_one_grader_as_the_spec_types_it(client):
    grader = {"type": "multi", "name": "m", "graders": CHECK, "calculate_output": "2 * Example_grader"}
    with pytest.raises(openai.BadRequestError):  # the key is the grader's name, which is no variable name
        client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Paris", item={"label": "Paris"})
    named = {**CHECK, "name": "exact"}
    grader = {"type": "multi", "name": "m", "graders": named, "calculate_output": "2 * exact"}
    assert (
        client.fine_tuning.alpha.graders.run(
            grader=grader, model_sample="Paris", item={"label": "Paris"}
        ).reward
        == 2.0
    )


def test_run_formula_failure_is_a_flag(client):
    grader = {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "1 / a"}
    result = client.fine_tuning.alpha.graders.run(grader=grader, model_sample="Lyon", item={"label": "Paris"})
    assert result.reward == 0.0 and result.metadata.errors.formula_parse_error


def test_run_model_grader_on_an_unknown_model_is_a_server_error_flag(client):
    grader = {**SCORE, "model": "no-such-model"}
    result = client.fine_tuning.alpha.graders.run(
        grader=grader, model_sample="Paris", item={"label": "Paris"}
    )
    assert result.reward == 0.0 and result.metadata.errors.api_model_grader_server_error
    assert "no-such-model" in result.metadata.errors.api_model_grader_server_error_details


def test_run_model_grader_on_an_external_endpoint(make_server):
    endpoint = ChatEndpoint(
        [
            Reply(
                content='{"steps": [{"description": "d", "conclusion": "c"}], "result": 0.9}',
                prompt_tokens=190,
                completion_tokens=134,
                cached_tokens=0,
            )
        ]
    )
    try:
        server = make_server(grader_api_base=endpoint.url, grader_api_key="sk-upstream")
        with sync_client(server.url) as client:
            result = client.fine_tuning.alpha.graders.run(
                grader=SCORE, model_sample="Paris", item={"label": "Paris"}
            )
    finally:
        endpoint.close()
    assert result.reward == pytest.approx(0.9)
    assert (result.metadata.token_usage, result.metadata.sampled_model_name) == (324, "gpt-4o-2024-08-06")
    assert result.api_model_grader_token_usage_per_model == {
        "gpt-4o-2024-08-06": {
            "prompt_tokens": 190,
            "total_tokens": 324,
            "completion_tokens": 134,
            "cached_tokens": 0,
        }
    }
    assert endpoint.headers[0]["authorization"] == "Bearer sk-upstream"
    assert endpoint.requests[0]["messages"][0]["content"] == "Reference: Paris. Answer: Paris"


@pytest.mark.parametrize(
    "grader",
    [
        CHECK,
        SIMILAR,
        PYTHON,
        SCORE,
        {"type": "multi", "name": "m", "graders": {**CHECK, "name": "x"}, "calculate_output": "x"},
    ],
    ids=["string_check", "text_similarity", "python", "score_model", "multi"],
)
def test_validate_echoes_the_grader(client, grader):
    result = client.fine_tuning.alpha.graders.validate(grader=grader)
    assert result.grader.model_dump(exclude_unset=True, mode="json") == grader


def test_validate_echoes_a_multi_map_and_label_model_as_sent(client):
    label = {
        "type": "label_model",
        "name": "l",
        "model": "gpt-4o-mini",
        "labels": ["a", "b"],
        "passing_labels": ["a"],
        "input": [
            {"type": "message", "role": "user", "content": {"type": "input_text", "text": "{{item.x}}"}}
        ],
    }
    grader = {
        "type": "multi",
        "name": "m",
        "graders": {"exact": CHECK, "label": label},
        "calculate_output": "exact + label",
    }
    for sent in (grader, label):  # the SDK's types cannot hold these two (see tests/support/openapi.py)
        raw = client.fine_tuning.alpha.graders.with_raw_response.validate(grader=sent).http_response.json()
        assert raw == {"grader": sent}


INVALID = [
    (
        "bad operation in a map",
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "email",
            "graders": {"email": {**CHECK, "operation": "equals"}},
        },
        "grader.graders.email.operation",
    ),
    ("missing reference", {k: v for k, v in CHECK.items() if k != "reference"}, "grader.reference"),
    ("missing type", {k: v for k, v in CHECK.items() if k != "type"}, "grader.type"),
    ("unknown type", {**CHECK, "type": "regex"}, "grader.type"),
    ("unknown field", {**CHECK, "extra": 1}, "grader.extra"),
    ("bad metric", {**SIMILAR, "evaluation_metric": "rouge_6"}, "grader.evaluation_metric"),
    ("bad namespace", {**CHECK, "input": "{{ output.text }}"}, "grader.input"),
    ("unclosed template", {**CHECK, "reference": "{{item.label"}, "grader.reference"),
    ("python syntax", {**PYTHON, "source": "def grade(sample, item)\n    return 1"}, "grader.source"),
    ("python without grade", {**PYTHON, "source": "def score(sample, item):\n    return 1"}, "grader.source"),
    ("python one argument", {**PYTHON, "source": "def grade(sample):\n    return 1"}, "grader.source"),
    ("python 256 kB", {**PYTHON, "source": "x = 1\n" * 50000 + PYTHON["source"]}, "grader.source"),
    ("range order", {**SCORE, "range": [1, 0]}, "grader.range"),
    ("range length", {**SCORE, "range": [0, 1, 2]}, "grader.range"),
    ("temperature", {**SCORE, "sampling_params": {"temperature": 3}}, "grader.sampling_params.temperature"),
    (
        "passing labels",
        {
            "type": "label_model",
            "name": "l",
            "model": "m",
            "labels": ["a"],
            "passing_labels": ["b"],
            "input": [{"role": "user", "content": "x"}],
        },
        "grader.passing_labels",
    ),
    ("message role", {**SCORE, "input": [{"role": "tool", "content": "x"}]}, "grader.input[0].role"),
    (
        "malformed formula",
        {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "a +"},
        "grader.calculate_output",
    ),
    (
        "unbalanced formula",
        {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "(a"},
        "grader.calculate_output",
    ),
    (
        "eval in formula",
        {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "__import__('os')"},
        "grader.calculate_output",
    ),
    (
        "unknown variable",
        {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "a + b"},
        "grader.calculate_output",
    ),
    (
        "unknown function",
        {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "round(a)"},
        "grader.calculate_output",
    ),
    (
        "nested multi",
        {
            "type": "multi",
            "name": "m",
            "calculate_output": "x",
            "graders": {
                "x": {"type": "multi", "name": "n", "graders": {"a": CHECK}, "calculate_output": "a"}
            },
        },
        "grader.graders.x.type",
    ),
    ("grader not an object", "string_check", "grader"),
]


@pytest.mark.parametrize(("case", "grader", "param"), INVALID, ids=[case[0] for case in INVALID])
def test_invalid_graders_are_400_naming_the_field(client, case, grader, param):
    for call in (
        lambda: client.fine_tuning.alpha.graders.validate(grader=grader),
        lambda: client.fine_tuning.alpha.graders.run(grader=grader, model_sample="x"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            call()
        error = caught.value.body
        assert (caught.value.status_code, error["param"], error["type"]) == (
            400,
            param,
            "invalid_request_error",
        )
        assert param in error["message"]


def test_formula_error_message_says_where(client):
    grader = {"type": "multi", "name": "m", "graders": {"a": CHECK}, "calculate_output": "a * * 2"}
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.validate(grader=grader)
    assert "position 4" in caught.value.body["message"]


def test_run_needs_model_sample(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.post("/fine_tuning/alpha/graders/run", body={"grader": CHECK}, cast_to=object)
    assert caught.value.body["param"] == "model_sample"


def test_python_graders_cannot_reach_the_server(make_server):
    server = make_server(grader_timeout_seconds=3)
    (server.settings.data_dir / "secret.txt").write_text("SECRET")
    probe = {
        **PYTHON,
        "source": (
            "import os, socket\n"
            "def grade(sample, item):\n"
            "    found = []\n"
            "    for path in (item['db'], item['secret']):\n"
            "        try:\n"
            "            open(path, 'rb').read(); found.append(path)\n"
            "        except OSError:\n"
            "            pass\n"
            "    try:\n"
            "        socket.create_connection(('127.0.0.1', item['port']), timeout=2); found.append('api')\n"
            "    except OSError:\n"
            "        pass\n"
            "    found += [k for k in os.environ if k.startswith('OPENFT')]\n"
            "    return float(len(found))\n"
        ),
    }
    item = {
        "db": str(server.settings.data_dir / "openft.db"),
        "secret": str(server.settings.data_dir / "secret.txt"),
        "port": server.port,
    }
    with sync_client(server.url) as client:
        result = client.fine_tuning.alpha.graders.run(grader=probe, model_sample="x", item=item)
    assert (result.reward, result.metadata.errors.python_grader_runtime_error) == (0.0, False)


def test_server_keeps_serving_while_a_grader_misbehaves(make_server):
    server = make_server(grader_timeout_seconds=3)
    loop = {
        **PYTHON,
        "source": (
            "import os\ndef grade(sample, item):\n    while True:\n"
            "        try:\n            os.fork()\n        except OSError:\n            pass\n"
        ),
    }
    with sync_client(server.url) as client:
        outcome = {}
        runner = threading.Thread(
            target=lambda: outcome.setdefault(
                "result", client.fine_tuning.alpha.graders.run(grader=loop, model_sample="x")
            )
        )
        runner.start()
        time.sleep(0.5)
        assert client.models.list().data
        assert runner.is_alive()  # answered while the grader was still spinning
        runner.join(timeout=30)
        result = outcome["result"]
        assert result.reward == 0.0 and result.metadata.errors.python_grader_runtime_error
        assert "did not finish within 3 s" in result.metadata.errors.python_grader_runtime_error_details
        assert (
            client.fine_tuning.alpha.graders.run(grader=PYTHON, model_sample="a", item={"label": "a"}).reward
            == 1.0
        )


def test_python_graders_are_refused_under_auto_without_bubblewrap(make_server, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # no bwrap to be found
    server = make_server(grader_sandbox="auto")
    with sync_client(server.url) as client:
        result = client.fine_tuning.alpha.graders.run(
            grader=PYTHON, model_sample="Paris", item={"label": "Paris"}
        )
    errors = result.metadata.errors
    assert (result.reward, errors.python_grader_server_error, errors.python_grader_runtime_error) == (
        0.0,
        True,
        False,
    )
    assert "install bubblewrap" in errors.python_grader_server_error_type
    assert "OPENFT_GRADER_SANDBOX=process" in errors.python_grader_server_error_type


LIMITED = [
    ("model_sample", {"model_sample": "x" * (64 * 1024 + 1)}),
    ("item", {"item": {"label": "x" * (1024**2)}}),
    ("grader.reference", {"grader": {**CHECK, "reference": "x" * (64 * 1024 + 1)}}),
    (
        "grader.graders.a.input",
        {
            "grader": {
                "type": "multi",
                "name": "m",
                "calculate_output": "a",
                "graders": {"a": {**SIMILAR, "input": "x" * 70000}},
            }
        },
    ),
]


@pytest.mark.parametrize(("param", "body"), LIMITED, ids=[case[0] for case in LIMITED])
def test_run_inputs_over_their_size_limit_are_400s_naming_the_field(client, param, body):
    with pytest.raises(openai.BadRequestError) as caught:
        client.fine_tuning.alpha.graders.run(**{"grader": CHECK, "model_sample": "x", **body})
    assert (caught.value.status_code, caught.value.body["param"]) == (400, param)
    assert "-byte limit" in caught.value.body["message"]


LONG = " ".join(f"w{i % 997}" for i in range(12000))  # rouge_l is quadratic in the words
ROUGE = {
    **SIMILAR,
    "input": "{{sample.output_text}}",
    "reference": "{{item.ref}}",
    "evaluation_metric": "rouge_l",
}


def test_a_grading_past_its_deadline_is_unresponsive(make_server):
    server = make_server(grader_timeout_seconds=1)
    with sync_client(server.url) as client:
        result = client.fine_tuning.alpha.graders.run(
            grader=ROUGE, model_sample=LONG, item={"ref": LONG[::-1]}
        )
        assert (result.reward, result.metadata.errors.unresponsive_reward_error) == (0.0, True)
        again = client.fine_tuning.alpha.graders.run(grader=ROUGE, model_sample="a b", item={"ref": "a b"})
        assert again.reward == 1.0


def test_a_client_that_goes_away_stops_its_grading(make_server):
    server = make_server(grader_timeout_seconds=600)
    before = _metric_workers()
    with pytest.raises(httpx.TimeoutException):
        httpx.post(
            server.url + "/fine_tuning/alpha/graders/run",
            json={"grader": ROUGE, "model_sample": LONG, "item": {"ref": LONG[::-1]}},
            headers={"Authorization": "Bearer sk-test"},
            timeout=3,
        )
    busy = _metric_workers() - before
    assert len(busy) == 1  # the worker computing rouge_l for the request
    assert _wait_until(lambda: not (busy & _metric_workers()))  # killed once the server saw the disconnect


def _metric_workers() -> set[int]:
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            cmdline = (status.parent / "cmdline").read_bytes()
            parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
        except (OSError, StopIteration):
            continue
        if b"openft.graders.metric_workers" in cmdline and int(parent.split()[1]) == os.getpid():
            found.add(int(status.parent.name))
    return found


def _wait_until(condition, seconds: float = 30.0) -> bool:
    """Poll for an outcome; no timing is asserted."""
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True

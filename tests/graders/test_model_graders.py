"""score_model and label_model through an external OpenAI-compatible endpoint (the `openai` SDK
over real HTTP to a scripted endpoint): the request sent, the reward, clamping, every error flag
and the token usage recorded. The same graders on the built-in model are in tests/e2e."""

import pytest

from openft.graders.context import GradeContext
from openft.graders.model_client import OpenAIEndpoint
from support.chat_endpoint import ChatEndpoint, Reply
from support.grading import run

SCORE = {
    "type": "score_model",
    "name": "judge",
    "model": "gpt-4o-2024-08-06",
    "input": [
        {"role": "system", "content": "You are an expert grader."},
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Reference: {{ item.reference }}"},
                "Answer: {{sample.output_text}}",
            ],
        },
    ],
    "range": [0, 10],
    "sampling_params": {"seed": 42, "temperature": 0.5, "top_p": 0.9, "max_completions_tokens": 64},
}
LABEL = {
    "type": "label_model",
    "name": "sentiment",
    "model": "gpt-4o-mini",
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": {"type": "input_text", "text": "Classify: {{item.statement}}"},
        }
    ],
    "labels": ["positive", "neutral", "negative"],
    "passing_labels": ["positive"],
}


@pytest.fixture(scope="module")
def shared_endpoint():
    server = ChatEndpoint()
    yield server
    server.close()


@pytest.fixture
def endpoint(shared_endpoint):
    shared_endpoint.replies.clear()
    shared_endpoint.requests.clear()
    shared_endpoint.headers.clear()
    return shared_endpoint


@pytest.fixture
def context(endpoint):
    return GradeContext(models=OpenAIEndpoint(endpoint.url, "sk-grader", max_retries=0))


def score(endpoint, context, content: str, **reply):
    endpoint.replies.append(Reply(content=content, **reply))
    return run(SCORE, "Paris", {"reference": "Paris"}, context=context)


def test_score_model_request(endpoint, context):
    result = score(endpoint, context, '{"steps": [{"description": "d", "conclusion": "c"}], "result": 7.5}')
    assert (result.reward, result.errors.any) == (7.5, False)
    (request,) = endpoint.requests
    assert request["model"] == "gpt-4o-2024-08-06"
    assert request["messages"] == [
        {"role": "system", "content": "You are an expert grader."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Reference: Paris"},
                {"type": "text", "text": "Answer: Paris"},
            ],
        },
    ]
    assert (request["seed"], request["temperature"], request["top_p"], request["max_completion_tokens"]) == (
        42,
        0.5,
        0.9,
        64,
    )
    schema = request["response_format"]["json_schema"]
    assert request["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert schema["schema"]["properties"]["result"] == {"type": "number"}
    assert schema["schema"]["required"] == ["steps", "result"]
    assert endpoint.headers[0]["authorization"] == "Bearer sk-grader"


def test_score_model_usage_and_model_name(endpoint, context):
    result = score(
        endpoint,
        context,
        '{"steps": [], "result": 3}',
        prompt_tokens=190,
        completion_tokens=134,
        cached_tokens=5,
        model="gpt-4o-2024-08-06",
    )
    assert result.sampled_model_name == "gpt-4o-2024-08-06"
    assert result.token_usage == 324
    wire = result.to_wire()
    assert wire["model_grader_token_usage_per_model"] == {
        "gpt-4o-2024-08-06": {
            "prompt_tokens": 190,
            "total_tokens": 324,
            "completion_tokens": 134,
            "cached_tokens": 5,
        }
    }
    assert wire["metadata"]["token_usage"] == 324


@pytest.mark.parametrize(("result", "reward"), [(12, 10.0), (-3, 0.0), (9.25, 9.25), (0, 0.0)])
def test_score_is_clamped_to_range(endpoint, context, result, reward):
    assert score(endpoint, context, f'{{"steps": [], "result": {result}}}').reward == reward


def test_default_range_is_zero_to_one(endpoint, context):
    endpoint.replies.append(Reply(content='{"steps": [], "result": 5}'))
    grader = {key: value for key, value in SCORE.items() if key != "range"}
    assert run(grader, "x", {"reference": "y"}, context=context).reward == 1.0


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"steps": []}',
        '{"steps": [], "result": "high"}',
        '{"steps": [], "result": true}',
        "[1]",
        "",
    ],
)
def test_unparsable_answer_is_a_parse_error(endpoint, context, content):
    result = score(endpoint, context, content)
    assert result.reward == 0.0 and result.errors.model_grader_parse_error
    assert result.token_usage == 18  # the tokens were used all the same


def test_refusal(endpoint, context):
    endpoint.replies.append(Reply(content=None, refusal="I can't help with that."))
    result = run(SCORE, "x", {"reference": "y"}, context=context)
    assert result.reward == 0.0 and result.errors.model_grader_refusal_error
    assert not result.errors.model_grader_parse_error


def test_server_error(endpoint, context):
    endpoint.replies.append(Reply(status=500))
    result = run(SCORE, "x", {"reference": "y"}, context=context)
    assert result.reward == 0.0 and result.errors.model_grader_server_error
    assert "upstream exploded" in result.errors.model_grader_server_error_details
    assert result.token_usage is None


def test_missing_variable_never_calls_the_model(endpoint, context):
    result = run(SCORE, "x", {}, context=context)
    assert result.errors.invalid_variable_error and endpoint.requests == []


@pytest.mark.parametrize(("label", "reward"), [("positive", 1.0), ("neutral", 0.0), ("negative", 0.0)])
def test_label_model(endpoint, context, label, reward):
    endpoint.replies.append(Reply(content=f'{{"steps": [], "result": "{label}"}}'))
    result = run(LABEL, "x", {"statement": "I love it"}, context=context)
    assert (result.reward, result.errors.any) == (reward, False)
    request = endpoint.requests[-1]
    assert request["messages"] == [
        {"role": "developer", "content": [{"type": "text", "text": "Classify: I love it"}]}
    ]
    result_schema = request["response_format"]["json_schema"]["schema"]["properties"]["result"]
    assert result_schema == {"type": "string", "enum": ["positive", "neutral", "negative"]}


def test_label_outside_the_labels_is_a_parse_error(endpoint, context):
    endpoint.replies.append(Reply(content='{"steps": [], "result": "ecstatic"}'))
    assert run(LABEL, "x", {"statement": "s"}, context=context).errors.model_grader_parse_error


def test_no_model_client_is_a_server_error():
    result = run(SCORE, "x", {"reference": "y"})
    assert result.errors.model_grader_server_error


def test_images_and_audio_are_passed_to_an_external_model(endpoint, context):
    grader = {
        **SCORE,
        "input": [
            {
                "role": "user",
                "content": [
                    {"type": "input_image", "image_url": "{{item.url}}", "detail": "low"},
                    {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                ],
            }
        ],
    }
    run(grader, "x", {"url": "https://example.invalid/cat.png"}, context=context)
    assert endpoint.requests[0]["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "https://example.invalid/cat.png", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
    ]


def test_the_engine_bounds_free_text_so_small_models_finish():
    from openft.graders.model_graders import label_schema, score_schema
    from openft.serve.grader_client import MAX_STEPS, MAX_TEXT, bounded

    schema = bounded(score_schema())
    steps = schema["properties"]["steps"]
    assert steps["maxItems"] == MAX_STEPS
    assert steps["items"]["properties"]["description"] == {"type": "string", "maxLength": MAX_TEXT}
    assert schema["properties"]["result"] == {"type": "number"}
    assert bounded(label_schema(["a", "b"]))["properties"]["result"] == {"type": "string", "enum": ["a", "b"]}
    assert "maxItems" not in score_schema()["properties"]["steps"]  # external endpoints get the schema as is

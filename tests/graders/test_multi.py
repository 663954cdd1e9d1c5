"""multi: sub-graders by key, combined by calculate_output (hand-computed), their flags and
token usage carried up; a formula that fails at evaluation is a formula_parse_error."""

import pytest

from openft.graders.context import GradeContext
from openft.graders.model_client import OpenAIEndpoint
from support.chat_endpoint import ChatEndpoint, Reply
from support.grading import run


def check(key: str, operation: str = "eq") -> dict:
    return {
        "type": "string_check",
        "name": f"{key}_grader",
        "input": f"{{{{sample.output_json.{key}}}}}",
        "reference": f"{{{{item.{key}}}}}",
        "operation": operation,
    }


def multi(formula: str, **graders) -> dict:
    return {"type": "multi", "name": "combined", "graders": graders, "calculate_output": formula}


SIMILAR = {
    "type": "text_similarity",
    "name": "name_grader",
    "input": "{{sample.output_json.name}}",
    "reference": "{{item.name}}",
    "evaluation_metric": "fuzzy_match",
}
ITEM = {"name": "abcd", "email": "a@b.c"}


def test_documented_example():
    grader = multi("(name + email) / 2", name=SIMILAR, email=check("email"))
    result = run(grader, '{"name": "abce", "email": "a@b.c"}', ITEM)
    assert result.reward == pytest.approx((0.75 + 1.0) / 2)
    assert result.sub_rewards == pytest.approx({"name": 0.75, "email": 1.0})
    assert result.scores == result.sub_rewards
    assert not result.errors.any and result.token_usage is None
    wire = result.to_wire()
    assert wire["metadata"]["type"] == "multi" and wire["metadata"]["name"] == "combined"


@pytest.mark.parametrize(
    ("formula", "expected"),
    [
        ("0.5 * name + 0.5 * email", 0.875),
        ("name ^ 2 + email", 0.75**2 + 1),
        ("-name ^ 2", -(0.75**2)),
        ("min(name, email, 0.9)", 0.75),
        ("max(name, email) - abs(name - email)", 0.75),
        ("floor(name * 10) / 10 + ceil(email / 3)", 0.7 + 1),
        ("sqrt(name * 4) * exp(0) + log(email)", 3**0.5),
        ("(name + (email * (2 - 1))) / 2", 0.875),
        ("2 ^ 3 ^ 2 / 512", 1.0),  # right-associative power
    ],
)
def test_formulas(formula, expected):
    result = run(
        multi(formula, name=SIMILAR, email=check("email")), '{"name": "abce", "email": "a@b.c"}', ITEM
    )
    assert result.reward == pytest.approx(expected)
    assert not result.errors.formula_parse_error


@pytest.mark.parametrize(
    "formula", ["name / (email - 1)", "log(email - 1)", "sqrt(name - 1)", "exp(1000 * email)"]
)
def test_evaluation_failure_is_a_formula_parse_error(formula):
    result = run(
        multi(formula, name=SIMILAR, email=check("email")), '{"name": "abce", "email": "a@b.c"}', ITEM
    )
    assert result.reward == 0.0 and result.errors.formula_parse_error
    assert result.sub_rewards == pytest.approx({"name": 0.75, "email": 1.0})


def test_failed_sub_grader_counts_zero_and_raises_its_flag():
    result = run(multi("1 + name + email", name=SIMILAR, email=check("email")), "not json", ITEM)
    assert result.reward == 1.0  # both sub-graders failed on output_json: 1 + 0 + 0
    assert result.errors.sample_parse_error
    assert result.sub_rewards == {"name": 0.0, "email": 0.0}


def test_model_sub_graders_add_up_token_usage():
    endpoint = ChatEndpoint(
        [
            Reply(
                content='{"steps": [], "result": 0.8}', prompt_tokens=10, completion_tokens=5, cached_tokens=0
            ),
            Reply(
                content='{"steps": [], "result": "yes"}',
                prompt_tokens=20,
                completion_tokens=1,
                cached_tokens=4,
            ),
        ]
    )
    try:
        context = GradeContext(models=OpenAIEndpoint(endpoint.url, "k", max_retries=0))
        judge = {
            "type": "score_model",
            "name": "j",
            "model": "gpt-4o",
            "input": [{"role": "user", "content": "{{sample.output_text}}"}],
        }
        label = {
            "type": "label_model",
            "name": "l",
            "model": "gpt-4o",
            "labels": ["yes", "no"],
            "passing_labels": ["yes"],
            "input": [{"role": "user", "content": "{{sample.output_text}}"}],
        }
        result = run(
            multi("judge * label", judge=judge, label=label, exact=check("x")),
            '{"x": 1}',
            {"x": 1},
            context=context,
        )
    finally:
        endpoint.close()
    assert result.reward == pytest.approx(0.8)
    assert result.sub_rewards == pytest.approx({"judge": 0.8, "label": 1.0, "exact": 1.0})
    assert result.token_usage == 36
    assert result.to_wire()["model_grader_token_usage_per_model"] == {
        "gpt-4o-2024-08-06": {
            "prompt_tokens": 30,
            "total_tokens": 36,
            "completion_tokens": 6,
            "cached_tokens": 4,
        }
    }
    assert result.sampled_model_name == "gpt-4o-2024-08-06"


def test_python_sub_grader_runtime_error_is_carried_up():
    from openft.graders.sandbox import Sandbox

    broken = {"type": "python", "name": "p", "source": "def grade(s, i):\n    raise ValueError('nope')\n"}
    result = run(
        multi("ok + broken", ok=check("x"), broken=broken),
        '{"x": 1}',
        {"x": 1},
        context=GradeContext(sandbox=Sandbox("process")),
    )
    assert result.reward == 1.0
    assert result.errors.python_grader_runtime_error
    assert "ValueError: nope" in result.errors.python_grader_runtime_error_details

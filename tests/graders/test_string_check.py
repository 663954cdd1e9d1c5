"""string_check: eq / ne are case-sensitive (in)equality, like / ilike are substring tests."""

import pytest

from support.grading import run


def check(operation: str, text: str, reference: str) -> float:
    grader = {
        "type": "string_check",
        "name": "s",
        "input": "{{sample.output_text}}",
        "reference": "{{item.label}}",
        "operation": operation,
    }
    return run(grader, text, {"label": reference}).reward


@pytest.mark.parametrize(
    ("operation", "text", "reference", "expected"),
    [
        ("eq", "Paris", "Paris", 1.0),
        ("eq", "paris", "Paris", 0.0),
        ("eq", "Paris ", "Paris", 0.0),
        ("ne", "Paris", "Paris", 0.0),
        ("ne", "paris", "Paris", 1.0),
        ("like", "The capital is Paris.", "Paris", 1.0),
        ("like", "The capital is paris.", "Paris", 0.0),
        ("like", "Paris", "The capital is Paris", 0.0),  # input contains reference, not the reverse
        ("like", "anything", "", 1.0),  # an empty reference is in every input
        ("like", "100%", "%", 1.0),  # no SQL wildcards: % is a character
        ("like", "abc", "a%c", 0.0),
        ("ilike", "The capital is PARIS.", "paris", 1.0),
        ("ilike", "Straße", "STRASSE", 1.0),  # case folding, not just lower()
        ("ilike", "Lyon", "paris", 0.0),
    ],
)
def test_operations(operation, text, reference, expected):
    assert check(operation, text, reference) == expected


def test_literal_strings_without_templates():
    grader = {"type": "string_check", "name": "s", "input": "abc", "reference": "abc", "operation": "eq"}
    result = run(grader, "ignored")
    assert (result.reward, result.errors.any, result.token_usage) == (1.0, False, None)


def test_non_string_values_are_compared_as_json():
    grader = {
        "type": "string_check",
        "name": "s",
        "input": "{{sample.output_json}}",
        "reference": "{{item.expected}}",
        "operation": "eq",
    }
    assert run(grader, '{"a": [1, 2]}', {"expected": {"a": [1, 2]}}).reward == 1.0
    assert run(grader, "1.0", {"expected": 1}).reward == 0.0  # "1.0" != "1", as OpenAI warns

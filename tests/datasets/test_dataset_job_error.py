"""The job-level error: row errors rendered OpenAI's way, truncation, and the example-count rules."""

from __future__ import annotations

import pytest

from openft.datasets import JobFileError, RowError

USER = {"role": "user", "content": "2+2?"}
ASSISTANT = {"role": "assistant", "content": "4"}
CHAT = {"messages": [USER, ASSISTANT]}
REINFORCEMENT = {"messages": [USER], "answer": "4"}
LEAD = "The job failed due to an invalid training file. Invalid file format. "


def test_reference_discriminator_message(validate):
    rows = [CHAT] * 99 + [{"messages": [USER, {"content": "4"}]}]
    report = validate(rows)
    assert report.errors == [RowError(100, "messages[1].role", "Discriminator 'role' is missing in value")]
    assert report.error == JobFileError(
        code="invalid_training_file",
        message=LEAD + "Example 100, message 2 Discriminator 'role' is missing in value",
        param="training_file",
    )


def test_every_bad_line_is_reported_and_rendered(validate):
    rows = [
        CHAT,
        {"messages": [USER, {**ASSISTANT, "weight": 3}]},
        "{not json",
        {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": "u", "detail": "max"}}],
                },
                ASSISTANT,
            ]
        },
        {"messages": [USER]},
        {"messages": [USER, ASSISTANT], "tools": [{"type": "function", "function": {}}]},
    ] + [CHAT] * 10
    report = validate(rows)
    assert [(e.line, e.field) for e in report.errors] == [
        (2, "messages[1].weight"),
        (3, None),
        (4, "messages[0].content[0].image_url.detail"),
        (5, "messages"),
        (6, "tools[0].function.name"),
    ]
    assert report.error.message == LEAD + "; ".join(
        [
            "Example 2, message 2 weight must be 0 or 1",
            "Example 3, Invalid JSON",
            "Example 4, message 1 content[0].image_url: detail must be one of 'low', 'high', 'auto'",
            "Example 5, messages: Example has no assistant message",
            "Example 6, tools[0].function: name is required",
        ]
    )


def test_preference_fields_render_with_their_owner(validate):
    row = {
        "input": {"messages": [{"role": "robot", "content": "x"}]},
        "preferred_output": [{"role": "assistant", "content": 1}],
        "non_preferred_output": [{"role": "assistant", "content": "y"}],
    }
    assert validate([row], method="dpo").error.message == LEAD + (
        "Example 1, input message 1 Unrecognized role 'robot'; "
        "Example 1, preferred_output[0]: content must be a string (text only)"
    )


def test_more_than_ten_errors_are_truncated(validate):
    report = validate([CHAT] + ["nope"] * 13)
    assert len(report.errors) == 13
    listed = "; ".join(f"Example {n}, Invalid JSON" for n in range(2, 12))
    assert report.error.message == LEAD + listed + " (and 3 more errors)"


def test_exactly_eleven_errors_says_one_more_error(validate):
    report = validate(["nope"] * 11 + [CHAT])
    assert report.error.message.endswith("Example 10, Invalid JSON (and 1 more error)")


def test_exactly_ten_errors_are_all_listed(validate):
    message = validate([CHAT] + ["nope"] * 10).error.message
    assert message.endswith("Example 11, Invalid JSON")
    assert "more error" not in message


def test_too_few_training_examples(validate):
    report = validate([CHAT] * 7)
    assert (report.n_examples, report.errors) == (7, [])
    assert report.error == JobFileError(
        code="invalid_n_examples",
        message="Training file has 7 example(s), but must have at least 10 examples",
        param="training_file",
    )


def test_row_errors_come_before_the_example_count(validate):
    error = validate([CHAT] * 3 + [{"messages": [USER]}]).error
    assert error.code == "invalid_training_file"


def test_empty_training_file(validate):
    report = validate([])
    assert (report.format, report.n_examples) == (None, 0)
    assert report.error.message == "Training file has 0 example(s), but must have at least 10 examples"


def test_validation_file_needs_one_example(validate):
    assert validate([CHAT], role="validation").error is None
    assert validate([], role="validation").error == JobFileError(
        code="invalid_n_examples",
        message="Validation file has 0 example(s), but must have at least 1 example",
        param="validation_file",
    )


def test_validation_row_errors_use_validation_code(validate):
    error = validate(["nope"], role="validation").error
    assert error == JobFileError(
        code="invalid_validation_file",
        message=(
            "The job failed due to an invalid validation file. Invalid file format. Example 1, Invalid JSON"
        ),
        param="validation_file",
    )


@pytest.mark.parametrize(
    ("role", "count", "message"),
    [
        ("training", 50_000, None),
        ("training", 50_001, "Training file has 50001 example(s), but must have at most 50000 examples"),
        ("validation", 1_000, None),
        ("validation", 1_001, "Validation file has 1001 example(s), but must have at most 1000 examples"),
    ],
)
def test_reinforcement_example_limits(validate, role, count, message):
    error = validate([REINFORCEMENT] * count, method="reinforcement", role=role).error
    assert (error and error.message) == message
    if error:
        assert (error.code, error.param) == ("invalid_n_examples", f"{role}_file")

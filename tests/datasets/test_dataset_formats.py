"""Completion, preference and reinforcement rows; format detection and method compatibility."""

from __future__ import annotations

import pytest

from openft.datasets import RowError

CHAT = {"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}]}
COMPLETION = {"prompt": "What is the answer to 2+2", "completion": "4"}
PREFERENCE = {  # reference §5.3
    "input": {
        "messages": [{"role": "user", "content": "How cold is San Francisco today?"}],
        "tools": [],
        "parallel_tool_calls": True,
    },
    "preferred_output": [{"role": "assistant", "content": "Not quite as cold as expected."}],
    "non_preferred_output": [{"role": "assistant", "content": "It is not cold."}],
}
REINFORCEMENT = {  # reference §5.4: every key but messages/tools is item data for the grader
    "messages": [{"role": "user", "content": "Do you have a dedicated security team?"}],
    "compliant": "yes",
    "explanation": "A dedicated security team follows strict protocols for handling incidents.",
}

MISMATCH = (
    "The job failed due to an invalid training file. Invalid file format. Input file file-test is "
    "in the {name} format, but the specified fine-tuning job is not using '{needed}' as the "
    "training method (provided method={method}). "
)


@pytest.mark.parametrize(
    ("row", "method", "expected"),
    [
        (CHAT, "supervised", "chat"),
        (COMPLETION, "supervised", "completion"),
        (PREFERENCE, "dpo", "preference"),
        (REINFORCEMENT, "reinforcement", "reinforcement"),
        (CHAT, "reinforcement", "reinforcement"),
    ],
)
def test_valid_file_in_each_format(validate, row, method, expected):
    report = validate([row] * 10, method=method)
    assert (report.format, report.n_examples, report.errors, report.error) == (expected, 10, [], None)


@pytest.mark.parametrize(
    ("row", "method", "name", "needed"),
    [
        (PREFERENCE, "supervised", "fine-tune-preference", "dpo"),
        (CHAT, "dpo", "fine-tune-chat", "supervised"),
        (COMPLETION, "dpo", "fine-tune-completion", "supervised"),
        (COMPLETION, "reinforcement", "fine-tune-completion", "supervised"),
        (PREFERENCE, "reinforcement", "fine-tune-preference", "dpo"),
    ],
)
def test_format_for_another_method_fails_verbatim(validate, row, method, name, needed):
    error = validate([row] * 10, method=method).error
    assert error.code == "invalid_training_file"
    assert error.param == "training_file"
    assert error.message == MISMATCH.format(name=name, needed=needed, method=method)


def test_mismatch_on_validation_file(validate):
    error = validate([CHAT], method="dpo", role="validation").error
    assert (error.code, error.param) == ("invalid_validation_file", "validation_file")
    assert error.message.startswith("The job failed due to an invalid validation file. Invalid file")


def test_mismatch_wins_over_row_errors_and_size(validate):
    report = validate([CHAT, {"messages": []}], method="dpo")
    assert report.errors == [RowError(2, "messages", "Expected a non-empty list of messages")]
    assert report.error.message == MISMATCH.format(name="fine-tune-chat", needed="supervised", method="dpo")


def test_file_format_is_the_first_recognised_row(validate):
    report = validate(["oops", {"x": 1}, COMPLETION, CHAT] + [COMPLETION] * 9)
    assert report.format == "completion"
    assert report.errors == [
        RowError(1, None, "Invalid JSON"),
        RowError(2, None, "Unexpected format, expected either prompt/completion pairs or chat messages"),
        RowError(
            4, None, "Row is in the fine-tune-chat format, but the file is in the fine-tune-completion format"
        ),
    ]


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("supervised", "either prompt/completion pairs or chat messages"),
        ("dpo", "preference pairs with input, preferred_output and non_preferred_output"),
        ("reinforcement", "chat messages"),
    ],
)
def test_no_recognisable_row(validate, method, expected):
    report = validate([{"question": "q", "answer": "a"}] * 12, method=method)
    assert report.format is None
    assert len(report.errors) == 12
    assert report.error.message == (
        f"The job failed due to an invalid training file. Unexpected file format, expected {expected}."
    )


def test_completion_errors(validate):
    assert validate([{"prompt": "p"}, {"prompt": 1, "completion": ["c"]}]).errors == [
        RowError(1, "completion", "completion is required"),
        RowError(2, "prompt", "prompt must be a string"),
        RowError(2, "completion", "completion must be a string"),
    ]


def test_preference_output_errors(validate):
    rows = [
        {**PREFERENCE, "preferred_output": []},
        {**PREFERENCE, "non_preferred_output": [{"role": "user", "content": ["x"]}]},
        {k: v for k, v in PREFERENCE.items() if k != "non_preferred_output"},
    ]
    assert validate(rows, method="dpo").errors == [
        RowError(1, "preferred_output", "preferred_output must be a list of exactly one assistant message"),
        RowError(2, "non_preferred_output[0].role", "role must be 'assistant'"),
        RowError(2, "non_preferred_output[0].content", "content must be a string (text only)"),
        RowError(3, "non_preferred_output", "non_preferred_output is required"),
    ]


def test_preference_input_errors(validate):
    bad_input = {"messages": [{"role": "robot", "content": "hi"}], "parallel_tool_calls": 1}
    rows = [
        {**PREFERENCE, "input": bad_input},
        {**PREFERENCE, "input": {"messages": []}},
        {**PREFERENCE, "input": "hello"},
        {k: v for k, v in PREFERENCE.items() if k != "input"},
    ]
    assert validate(rows, method="dpo").errors == [
        RowError(1, "input.messages[0].role", "Unrecognized role 'robot'"),
        RowError(1, "input.parallel_tool_calls", "parallel_tool_calls must be a boolean"),
        RowError(2, "input.messages", "Expected a non-empty list of messages"),
        RowError(3, "input", "input must be an object with messages"),
        RowError(4, "input", "input is required"),
    ]


def test_reinforcement_rules(validate):
    rows = [
        {"messages": [{"role": "function", "name": "f", "content": "x"}]},
        {"messages": [], "label": 1},
        {**REINFORCEMENT, "tools": {"type": "function"}},
    ]
    assert validate(rows, method="reinforcement").errors == [
        RowError(1, "messages[0].role", "Unrecognized role 'function'"),
        RowError(2, "messages", "Expected a non-empty list of messages"),
        RowError(3, "tools", "tools must be a list"),
    ]


def test_unknown_method_or_role_is_a_programming_error(jsonl):
    from openft.datasets import validate_dataset

    path = jsonl([CHAT])
    with pytest.raises(ValueError, match="method"):
        validate_dataset(path, method="sft", file_id="file-x")
    with pytest.raises(ValueError, match="role"):
        validate_dataset(path, method="supervised", file_id="file-x", role="test")

"""Templates inside graders: nested sample/item paths and indexes, and what a missing or
unparsable value reports (invalid_variable_error / sample_parse_error, never a crash)."""

import json

from openft.graders.sample import sample_from_choice, sample_from_text
from support.grading import run


def eq(input_: str, reference: str) -> dict:
    return {"type": "string_check", "name": "s", "input": input_, "reference": reference, "operation": "eq"}


def tool_sample(arguments: dict) -> dict:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": json.dumps(arguments)},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return sample_from_choice({"index": 0, "message": message, "finish_reason": "tool_calls"})


def test_sample_of_plain_text():
    sample = sample_from_text('{"name": "Ada"}')
    assert sample["output_text"] == '{"name": "Ada"}'
    assert sample["output_json"] == {"name": "Ada"}
    assert sample["output_tools"] == []
    assert sample["choices"][0]["message"] == {"role": "assistant", "content": '{"name": "Ada"}'}
    assert "output_json" not in sample_from_text("not json")


def test_output_json_path():
    result = run(
        eq("{{sample.output_json.name}}", "{{ item.person.name }}"),
        '{"name": "Ada"}',
        {"person": {"name": "Ada"}},
    )
    assert (result.reward, result.errors.any) == (1.0, False)


def test_output_tools_index_path():
    sample = tool_sample({"smiles": "CCO"})
    grader = eq("{{sample.output_tools[0].function.arguments}}", '{"smiles": "{{item.smiles}}"}')
    assert run(grader, sample, {"smiles": "CCO"}).reward == 1.0
    assert run(grader, sample, {"smiles": "C"}).reward == 0.0
    assert run(eq("{{sample.output_tools[0].function.name}}", "lookup"), sample).reward == 1.0


def test_item_list_indexes():
    item = {"answers": [["a", "b"], ["c", "d"]]}
    assert run(eq("{{sample.output_text}}", "{{item.answers[1][0]}}"), "c", item).reward == 1.0


def test_missing_item_variable_is_invalid_variable_error():
    result = run(eq("{{sample.output_text}}", "{{item.missing}}"), "x", {"label": "x"})
    assert result.reward == 0.0
    assert result.errors.invalid_variable_error and not result.errors.sample_parse_error


def test_index_out_of_range_is_invalid_variable_error():
    result = run(eq("{{sample.output_tools[0].function.name}}", "x"), "no tools here")
    assert result.errors.invalid_variable_error


def test_output_json_of_non_json_output_is_sample_parse_error():
    result = run(eq("{{sample.output_json.name}}", "Ada"), "Ada, not JSON")
    assert result.reward == 0.0
    assert result.errors.sample_parse_error and not result.errors.invalid_variable_error


def test_missing_key_of_parsed_json_is_invalid_variable_error():
    result = run(eq("{{sample.output_json.email}}", "x"), '{"name": "Ada"}')
    assert result.errors.invalid_variable_error and not result.errors.sample_parse_error


def test_truncated_sample_is_flagged_and_still_graded():
    sample = sample_from_choice(
        {"index": 0, "message": {"role": "assistant", "content": "Par"}, "finish_reason": "length"}
    )
    result = run(eq("{{sample.output_text}}", "Par"), sample)
    assert (result.reward, result.errors.truncated_observation_error) == (1.0, True)

"""Chat-format (supervised) examples: valid shapes from the reference and every kind of row error."""

from __future__ import annotations

import pytest

from openft.datasets import RowError

USER = {"role": "user", "content": "What's the capital of France?"}
ASSISTANT = {"role": "assistant", "content": "Paris"}
CHAT = {"messages": [USER, ASSISTANT]}

WEIGHTS = {  # reference §5.1, the weight example
    "messages": [
        {"role": "system", "content": "Marv is a factual chatbot that is also sarcastic."},
        {"role": "user", "content": "What's the capital of France?"},
        {"role": "assistant", "content": "Paris", "weight": 0},
        {"role": "user", "content": "Can you be more sarcastic?"},
        {"role": "assistant", "content": "Paris, as if everyone doesn't know that already.", "weight": 1},
    ]
}

TOOL_CALLS = {  # reference §5.1, the tool-calling example, with the tool-result turn
    "messages": [
        {"role": "user", "content": "What is the weather in San Francisco?"},
        {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "call_id",
                    "type": "function",
                    "function": {
                        "name": "get_current_weather",
                        "arguments": '{"location": "San Francisco, USA", "format": "celsius"}',
                    },
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_id", "content": "21.0"},
        {"role": "assistant", "content": "It is 21 degrees celsius in San Francisco."},
    ],
    "parallel_tool_calls": False,
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_current_weather",
                "description": "Get the current weather",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "location": {"type": "string", "description": "The city and country"},
                        "format": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                    },
                    "required": ["location", "format"],
                },
            },
        }
    ],
}

FUNCTIONS = {  # the deprecated functions / function_call / role "function" spelling
    "messages": [
        USER,
        {"role": "assistant", "function_call": {"name": "lookup", "arguments": "{}"}},
        {"role": "function", "name": "lookup", "content": "Paris"},
        ASSISTANT,
    ],
    "functions": [{"name": "lookup", "parameters": {"type": "object", "properties": {}}}],
}

IMAGE = {
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://x/cat.png", "detail": "low"}},
            ],
        },
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
    ]
}


def errors_of(validate, *rows):
    """The row errors of a supervised file made of these rows."""
    return validate(list(rows)).errors


@pytest.mark.parametrize("row", [CHAT, WEIGHTS, TOOL_CALLS, FUNCTIONS, IMAGE])
def test_reference_chat_examples_are_valid(validate, row):
    report = validate([row] * 10)
    assert (report.format, report.n_examples, report.errors, report.error) == ("chat", 10, [], None)


def test_developer_role_is_accepted_as_system(validate):
    row = {"messages": [{"role": "developer", "content": "Be brief."}, USER, ASSISTANT]}
    assert validate([row] * 10).error is None


def test_unknown_top_level_keys_are_ignored(validate):
    assert errors_of(validate, {**CHAT, "metadata": {"source": "crm"}}) == []


def test_missing_role_is_a_discriminator_error(validate):
    row = {"messages": [USER, {"content": "x"}, ASSISTANT]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[1].role", "Discriminator 'role' is missing in value")
    ]


def test_unrecognized_role(validate):
    row = {"messages": [{"role": "foo", "content": "x"}, ASSISTANT]}
    typo = {"messages": [USER, {"role": "Assistant", "content": "4"}]}  # not also "no assistant"
    assert errors_of(validate, row, typo) == [
        RowError(1, "messages[0].role", "Unrecognized role 'foo'"),
        RowError(2, "messages[1].role", "Unrecognized role 'Assistant'"),
    ]


@pytest.mark.parametrize("weight", [2, -1, 0.5, 1.0, True, "1", None])
def test_weight_must_be_integer_zero_or_one(validate, weight):
    row = {"messages": [USER, {**ASSISTANT, "weight": weight}]}
    assert errors_of(validate, row) == [RowError(1, "messages[1].weight", "weight must be 0 or 1")]


def test_weight_only_on_assistant_messages(validate):
    row = {"messages": [{**USER, "weight": 1}, ASSISTANT]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[0].weight", "weight is only allowed on assistant messages")
    ]


def test_unknown_message_key(validate):
    row = {"messages": [USER, {**ASSISTANT, "mood": "smug"}]}
    assert errors_of(validate, row) == [RowError(1, "messages[1].mood", "Unrecognized key 'mood'")]


def test_example_without_assistant_message(validate):
    assert errors_of(validate, {"messages": [USER]}) == [
        RowError(1, "messages", "Example has no assistant message")
    ]


@pytest.mark.parametrize("messages", [[], "hello", None])
def test_messages_must_be_a_non_empty_list(validate, messages):
    assert errors_of(validate, {"messages": messages}) == [
        RowError(1, "messages", "Expected a non-empty list of messages")
    ]


def test_message_must_be_an_object(validate):
    assert errors_of(validate, {"messages": ["hi", ASSISTANT]}) == [
        RowError(1, "messages[0]", "Expected a message object")
    ]


def test_content_required_unless_assistant_calls_a_tool(validate):
    row = {"messages": [{"role": "user"}, {"role": "assistant", "content": None}]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[0].content", "content is required"),
        RowError(1, "messages[1].content", "content is required"),
    ]


def test_content_of_the_wrong_type(validate):
    row = {"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": []}]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[0].content", "content must be a string or a list of content parts"),
        RowError(1, "messages[1].content", "content must not be an empty list"),
    ]


def test_content_part_errors(validate):
    parts = [
        {"text": "no type"},
        {"type": "audio", "audio": "..."},
        {"type": "text", "text": 5},
        {"type": "image_url", "image_url": {"url": "u", "detail": "max"}},
        {"type": "image_url"},
    ]
    row = {"messages": [{"role": "user", "content": parts}, ASSISTANT]}
    path = "messages[0].content"
    assert errors_of(validate, row) == [
        RowError(1, f"{path}[0]", "Discriminator 'type' is missing in value"),
        RowError(1, f"{path}[1]", "Unrecognized content part type 'audio'"),
        RowError(1, f"{path}[2].text", "text must be a string"),
        RowError(1, f"{path}[3].image_url.detail", "detail must be one of 'low', 'high', 'auto'"),
        RowError(1, f"{path}[4].image_url", "image_url must be an object with a url"),
    ]


def test_images_not_allowed_in_assistant_messages(validate):
    image = {"type": "image_url", "image_url": {"url": "https://x/cat.png"}}
    row = {"messages": [USER, {"role": "assistant", "content": [image]}]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[1].content[0]", "Images are not allowed in assistant messages")
    ]


def test_tool_message_needs_tool_call_id_and_content(validate):
    row = {"messages": [USER, {"role": "tool"}, ASSISTANT]}
    assert errors_of(validate, row) == [
        RowError(1, "messages[1].tool_call_id", "tool_call_id is required for tool messages"),
        RowError(1, "messages[1].content", "content is required"),
    ]


def test_tool_call_errors(validate):
    calls = [{"id": 1, "type": "code", "function": {"name": "f", "arguments": {}}}, "call"]
    row = {"messages": [USER, {"role": "assistant", "tool_calls": calls}]}
    path = "messages[1].tool_calls"
    assert errors_of(validate, row) == [
        RowError(1, f"{path}[0].id", "id must be a string"),
        RowError(1, f"{path}[0].type", "type must be 'function'"),
        RowError(1, f"{path}[0].function.arguments", "arguments must be a string"),
        RowError(1, f"{path}[1]", "Expected a tool call object"),
    ]


def test_tools_and_parallel_tool_calls_errors(validate):
    tools = [{"type": "function", "function": {"description": 3, "parameters": "x"}}, {"type": "web"}]
    row = {**CHAT, "tools": tools, "parallel_tool_calls": "no"}
    assert errors_of(validate, row) == [
        RowError(1, "tools[0].function.name", "name is required"),
        RowError(1, "tools[0].function.description", "description must be a string"),
        RowError(1, "tools[0].function.parameters", "parameters must be a JSON schema object"),
        RowError(1, "tools[1].type", "type must be 'function'"),
        RowError(1, "tools[1].function", "function is required"),
        RowError(1, "parallel_tool_calls", "parallel_tool_calls must be a boolean"),
    ]


def test_functions_list_size(validate):
    too_many = [{"name": f"f{i}"} for i in range(129)]
    assert errors_of(validate, {**CHAT, "functions": []}, {**CHAT, "functions": too_many}) == [
        RowError(1, "functions", "functions must be a list of 1 to 128 functions"),
        RowError(2, "functions", "functions must be a list of 1 to 128 functions"),
    ]

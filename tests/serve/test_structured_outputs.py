"""response_format json_object / json_schema and tools: output constrained by llguidance, so even
the tiny random model writes valid JSON that matches the schema, and well-formed tool calls."""

from __future__ import annotations

import json

import jsonschema
import pytest

from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

ASK = [{"role": "user", "content": "Describe a colour as JSON."}]
SCHEMA = {
    "type": "object",
    "properties": {
        "colour": {"type": "string", "enum": ["red", "green", "blue"]},
        "bright": {"type": "boolean"},
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["warm", "cold"]}, "maxItems": 3},
    },
    "required": ["colour", "bright", "score", "tags"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"enum": ["Paris", "Rome"]}},
            "required": ["city"],
            "additionalProperties": False,
        },
    },
}
TIME = {
    "type": "function",
    "function": {
        "name": "get_time",
        "parameters": {
            "type": "object",
            "properties": {"zone": {"enum": ["UTC", "CET"]}},
            "required": ["zone"],
            "additionalProperties": False,
        },
    },
}


@pytest.mark.parametrize("model", [MODELS.base, MODELS.a])
def test_json_schema_output_parses_and_validates(sdk, model):
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "colour", "schema": SCHEMA, "strict": True},
    }
    reply = sdk.chat.completions.create(
        model=model, messages=ASK, response_format=response_format, max_tokens=120, n=3, seed=9
    )
    for choice in reply.choices:
        assert choice.finish_reason == "stop"
        jsonschema.validate(json.loads(choice.message.content), SCHEMA)


def test_json_object_output_is_a_json_object(sdk, tokenizer):
    [close] = tokenizer.encode("}", add_special_tokens=False)
    reply = sdk.chat.completions.create(
        model=MODELS.base,
        messages=ASK,
        response_format={"type": "json_object"},
        max_tokens=200,
        temperature=0,
        logit_bias={str(close): 20},  # lean towards "}" so the random model closes its object soon
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "stop" and isinstance(json.loads(choice.message.content), dict)


def test_streamed_json_is_the_same_json(sdk):
    response_format = {"type": "json_schema", "json_schema": {"name": "colour", "schema": SCHEMA}}
    whole = sdk.chat.completions.create(
        model=MODELS.b, messages=ASK, response_format=response_format, max_tokens=120, temperature=0
    )
    stream = sdk.chat.completions.create(
        model=MODELS.b,
        messages=ASK,
        response_format=response_format,
        max_tokens=120,
        temperature=0,
        stream=True,
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream) == whole.choices[0].message.content


def test_required_tool_choice_makes_a_valid_call(sdk):
    reply = sdk.chat.completions.create(
        model=MODELS.base,
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[WEATHER, TIME],
        tool_choice="required",
        max_tokens=40,
        seed=2,
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.id.startswith("call_") and call.type == "function"
    schema = {t["function"]["name"]: t["function"]["parameters"] for t in (WEATHER, TIME)}[call.function.name]
    jsonschema.validate(json.loads(call.function.arguments), schema)


def test_a_named_tool_choice_calls_that_tool_and_streams_it(sdk):
    forced = {"type": "function", "function": {"name": "get_time"}}
    kwargs = dict(
        model=MODELS.a,
        messages=[{"role": "user", "content": "Time?"}],
        tools=[WEATHER, TIME],
        tool_choice=forced,
        max_tokens=40,
        temperature=0,
    )
    reply = sdk.chat.completions.create(**kwargs)
    assert reply.choices[0].finish_reason == "stop"  # as OpenAI answers a forced function
    [call] = reply.choices[0].message.tool_calls
    assert call.function.name == "get_time" and json.loads(call.function.arguments)["zone"] in ("UTC", "CET")
    chunks = list(sdk.chat.completions.create(**kwargs, stream=True))
    calls = [tc for c in chunks for tc in (c.choices[0].delta.tool_calls or [])]
    assert [(tc.index, tc.function.name, tc.function.arguments) for tc in calls] == [
        (0, "get_time", call.function.arguments)
    ]
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == ""


def test_tool_choice_none_and_auto_answer_in_text(sdk):
    for choice in ("none", "auto"):
        reply = sdk.chat.completions.create(
            model=MODELS.base,
            messages=[{"role": "user", "content": "Hi"}],
            tools=[WEATHER],
            tool_choice=choice,
            max_tokens=5,
            temperature=0,
        )
        assert reply.choices[0].message.content and reply.choices[0].message.tool_calls is None

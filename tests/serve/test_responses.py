"""The Responses API on the tiny models through the strict SDK: plain text and message input,
structured output, function tools, streaming events and chains with previous_response_id, each
answered through the chat path (so a response equals the chat completion of the same messages)."""

from __future__ import annotations

import json
from typing import Literal

import httpx
import jsonschema
import openai
import pytest
from pydantic import BaseModel

from support.clients import sync_client
from support.tiny_models import MODELS

pytestmark = pytest.mark.serve

SCHEMA = {
    "type": "object",
    "properties": {
        "colour": {"type": "string", "enum": ["red", "green", "blue"]},
        "bright": {"type": "boolean"},
    },
    "required": ["colour", "bright"],
    "additionalProperties": False,
}
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"enum": ["Paris", "Rome"]}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}


def chat_text(sdk, model: str, messages: list[dict], max_tokens: int) -> str:
    reply = sdk.chat.completions.create(model=model, messages=messages, max_tokens=max_tokens, temperature=0)
    return reply.choices[0].message.content


def test_a_response_on_a_fine_tuned_model_is_the_chat_answer_of_the_same_messages(sdk):
    response = sdk.responses.create(
        model=MODELS.a, instructions="Be brief.", input="Say hello.", max_output_tokens=6, temperature=0
    )
    assert response.id.startswith("resp_") and response.object == "response" and response.model == MODELS.a
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    [message] = response.output
    assert (message.type, message.role, message.content[0].type) == ("message", "assistant", "output_text")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}]
    assert response.output_text == chat_text(sdk, MODELS.a, messages, 6)
    assert response.usage.output_tokens == 6 and response.instructions == "Be brief."
    listed = sdk.responses.create(
        model=MODELS.a,
        input=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "Say hello."}]},
        ],
        max_output_tokens=6,
        temperature=0,
    )
    assert (
        listed.output_text == response.output_text
        and listed.usage.input_tokens == response.usage.input_tokens
    )


@pytest.mark.parametrize("model", [MODELS.base, MODELS.checkpoint, MODELS.full])
def test_base_checkpoint_and_full_models_answer(sdk, model):
    response = sdk.responses.create(model=model, input="Hi", max_output_tokens=3, reasoning={"effort": "low"})
    assert response.usage.output_tokens == 3 and response.output_text
    assert response.reasoning.effort is None  # accepted and ignored: these models do not reason


def test_json_schema_text_format_parses_and_validates(sdk):
    text = {"format": {"type": "json_schema", "name": "colour", "schema": SCHEMA, "strict": True}}
    response = sdk.responses.create(
        model=MODELS.a, input="A colour as JSON.", text=text, max_output_tokens=60
    )
    assert response.status == "completed"
    jsonschema.validate(json.loads(response.output_text), SCHEMA)
    assert response.text.format.type == "json_schema" and response.text.format.name == "colour"


class Colour(BaseModel):
    colour: Literal["red", "green", "blue"]  # bounded: the tiny model would write a string to the limit
    bright: bool


def test_the_sdks_parse_helper_reads_a_pydantic_format(sdk):
    parsed = sdk.responses.parse(model=MODELS.a, input="A colour.", text_format=Colour, max_output_tokens=60)
    assert isinstance(parsed.output_parsed, Colour)


def test_a_forced_function_call_then_its_output_continues_the_chain(sdk):
    called = sdk.responses.create(
        model=MODELS.a,
        input="Weather in Paris?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=60,
    )
    [call] = called.output
    assert (call.type, call.name, call.status) == ("function_call", "get_weather", "completed")
    assert json.loads(call.arguments)["city"] in ("Paris", "Rome") and call.call_id
    assert called.status == "completed" and called.tools[0].name == "get_weather"
    followed = sdk.responses.create(
        model=MODELS.a,
        previous_response_id=called.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
        max_output_tokens=4,
        temperature=0,
    )
    assert followed.previous_response_id == called.id and followed.output[0].type == "message"
    by_hand = sdk.responses.create(  # the docs' other way: the output items sent back as input
        model=MODELS.a,
        input=[
            {"role": "user", "content": "Weather in Paris?"},
            *called.output,
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        max_output_tokens=4,
        temperature=0,
    )
    assert by_hand.output_text == followed.output_text
    named = sdk.responses.create(
        model=MODELS.a,
        input="Weather?",
        tools=[WEATHER],
        tool_choice={"type": "function", "name": "get_weather"},
        max_output_tokens=60,
    )
    assert [item.name for item in named.output] == ["get_weather"]


def test_previous_response_id_continues_the_stored_conversation(sdk):
    first = sdk.responses.create(model=MODELS.a, input="My name is Ada.", max_output_tokens=4, temperature=0)
    second = sdk.responses.create(
        model=MODELS.a,
        previous_response_id=first.id,
        input="What is my name?",
        max_output_tokens=4,
        temperature=0,
    )
    messages = [
        {"role": "user", "content": "My name is Ada."},
        {"role": "assistant", "content": first.output_text},
        {"role": "user", "content": "What is my name?"},
    ]
    assert second.output_text == chat_text(sdk, MODELS.a, messages, 4)
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.responses.create(
            model=MODELS.a, previous_response_id="resp_nope", input="Hi", max_output_tokens=1
        )
    assert (
        missing.value.code == "previous_response_not_found" and missing.value.param == "previous_response_id"
    )


def test_streaming_emits_the_documented_events_in_sequence(sdk):
    whole = sdk.responses.create(model=MODELS.a, input="Say hello.", max_output_tokens=5, temperature=0)
    events = list(
        sdk.responses.create(
            model=MODELS.a, input="Say hello.", max_output_tokens=5, temperature=0, stream=True
        )
    )
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.incomplete",  # cut by max_output_tokens
    ]
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == whole.output_text
    assert events[-1].response.output_text == whole.output_text
    assert sdk.responses.retrieve(events[-1].response.id).output_text == whole.output_text  # stored at once


def test_the_raw_stream_names_each_event_after_its_type(tiny_server):
    body = {"model": MODELS.base, "input": "Hi", "max_output_tokens": 2, "stream": True}
    headers = {"Authorization": "Bearer sk-a"}
    with httpx.stream("POST", f"{tiny_server.url}/responses", json=body, headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line]
    names, payloads = lines[0::2], lines[1::2]
    assert [name.removeprefix("event: ") for name in names] == [json.loads(p[6:])["type"] for p in payloads]
    assert not any("[DONE]" in line for line in lines)


def test_a_streamed_function_call_has_its_argument_events_and_completes(sdk):
    stream = sdk.responses.create(
        model=MODELS.a,
        input="Weather?",
        tools=[WEATHER],
        tool_choice="required",
        max_output_tokens=60,
        stream=True,
    )
    events = list(stream)
    assert [event.type for event in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert events[4].arguments == events[5].item.arguments == events[-1].response.output[0].arguments


def test_stored_responses_are_retrieved_listed_and_deleted_per_project(tiny_server, sdk):
    made = sdk.responses.create(
        model=MODELS.a,
        instructions="Be brief.",
        input=[{"role": "user", "content": "One"}, {"role": "assistant", "content": "Two"}],
        max_output_tokens=2,
        metadata={"run": "r1"},
    )
    kept = sdk.responses.retrieve(made.id)
    assert kept.output_text == made.output_text and kept.metadata == {"run": "r1"}
    items = sdk.responses.input_items.list(made.id)
    assert [(item.type, item.role) for item in items.data] == [("message", "assistant"), ("message", "user")]
    assert [item.role for item in sdk.responses.input_items.list(made.id, order="asc", limit=1).data] == [
        "user"
    ]
    with sync_client(tiny_server.url, api_key="sk-b") as other, pytest.raises(openai.NotFoundError):
        other.responses.retrieve(made.id)
    sdk.responses.delete(made.id)
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.responses.retrieve(made.id)
    assert gone.value.code == "response_not_found"
    unstored = sdk.responses.create(model=MODELS.a, input="Hi", max_output_tokens=1, store=False)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(unstored.id)


def test_inputs_a_text_model_cannot_read_are_refused_naming_the_item(sdk):
    image = [{"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.responses.create(model=MODELS.a, input=image, max_output_tokens=1)
    assert bad.value.param == "input[0].content[0].type"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="ft:tiny:acme::nope", input="Hi", max_output_tokens=1)

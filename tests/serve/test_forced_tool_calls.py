"""``tool_choice`` "required" and a named function on the built-in SmolLM2-135M-Instruct with the
cookbook's 16 drone tools: every reply is a tool call whose arguments fit that tool's schema (no
key it does not name, ``{}`` for a tool without parameters), ``content`` is null, and a reply cut
at the token limit is still the call, as far as it got. Through the strict SDK, at temperature 0."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from openft.config import Settings
from support.clients import sync_client
from support.drones import HARD, PLAIN, SYSTEM, check_call, tools
from support.server import RunningServer

pytestmark = [pytest.mark.serve, pytest.mark.timeout(1200)]  # long prompts, a loaded 2-core machine

MAX_TOKENS = 96  # the longest call the forcing grammar allows these tools is 92 tokens
NAMED = [
    ("control_drone_movement", "Fly forward 20 meters"),
    ("set_home_location", "Make this spot home: 48.85 N, 2.35 E"),
    ("return_to_home", "Come back"),
    ("calibrate_sensors", "Calibrate everything"),
]


@pytest.fixture(scope="module")
def drone_sdk(tmp_path_factory, builtin_dir):
    data_dir = tmp_path_factory.mktemp("serve-tools")
    (data_dir / "models").symlink_to(builtin_dir.parent, target_is_directory=True)
    server = RunningServer(Settings(data_dir=data_dir, embedded_worker=False)).start()
    try:
        with sync_client(server.url, timeout=600) as client:
            yield client
    finally:
        server.stop()


def ask(sdk, prompt: str, offered: list[dict], tool_choice, **kwargs):
    return sdk.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}],
        tools=offered,
        tool_choice=tool_choice,
        temperature=0,
        **{"max_tokens": MAX_TOKENS, **kwargs},
    )


def ask_all(sdk, requests: list[tuple[str, object]], offered: list[dict]) -> list:
    """(prompt, tool_choice) requests sent at once, so the engine decodes them in one batch."""
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda request: ask(sdk, request[0], offered, request[1]), requests))


def named(name: str) -> dict:
    return {"type": "function", "function": {"name": name}}


@pytest.mark.parametrize("strict", [False, True], ids=["cookbook-schemas", "strict-schemas"])
def test_required_always_calls_a_tool_with_arguments_that_fit_it(drone_sdk, strict):
    offered = tools(strict=strict)
    for reply in ask_all(drone_sdk, [(prompt, "required") for prompt in PLAIN + HARD], offered):
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        [call] = choice.message.tool_calls
        check_call(call, offered)


@pytest.mark.parametrize("strict", [False, True], ids=["cookbook-schemas", "strict-schemas"])
def test_a_named_function_is_called_with_null_content(drone_sdk, strict):
    offered = tools(strict=strict)
    replies = ask_all(drone_sdk, [(prompt, named(name)) for name, prompt in NAMED], offered)
    for (name, _), reply in zip(NAMED, replies, strict=True):
        choice = reply.choices[0]
        assert choice.finish_reason == "stop" and choice.message.content is None  # as OpenAI answers
        [call] = choice.message.tool_calls
        arguments = check_call(call, offered)
        assert call.function.name == name
        if name in ("return_to_home", "calibrate_sensors"):  # no parameters, or {}
            assert arguments == {}


def test_a_call_cut_at_the_token_limit_is_still_the_call_as_far_as_it_got(drone_sdk):
    offered, choice = tools(), named("control_drone_movement")
    whole = ask(drone_sdk, NAMED[0][1], offered, choice).choices[0].message.tool_calls[0]
    cut = ask(drone_sdk, NAMED[0][1], offered, choice, max_tokens=24)
    [call] = cut.choices[0].message.tool_calls
    assert cut.choices[0].finish_reason == "length" and cut.choices[0].message.content is None
    assert call.function.name == whole.function.name
    assert call.function.arguments and whole.function.arguments.startswith(call.function.arguments)
    with pytest.raises(json.JSONDecodeError):
        json.loads(call.function.arguments)
    chunks = list(ask(drone_sdk, NAMED[0][1], offered, choice, max_tokens=24, stream=True))
    assert all(c.choices[0].delta.content is None for c in chunks)
    streamed = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or []]
    assert [(tc.function.name, tc.function.arguments) for tc in streamed] == [
        (call.function.name, call.function.arguments)
    ]
    assert chunks[-1].choices[0].finish_reason == "length"


def test_required_cut_before_the_name_is_whole_still_names_a_tool(drone_sdk):
    offered = tools()
    reply = ask(drone_sdk, PLAIN[0], offered, "required", max_tokens=3)
    choice = reply.choices[0]
    assert choice.finish_reason == "length" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.function.name in {t["function"]["name"] for t in offered} and call.function.arguments == ""

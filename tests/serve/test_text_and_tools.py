"""Pieces without a model: stop sequences held back and cut, tool-call blocks and the grammar that
forces one, the pinned LRU."""

from __future__ import annotations

import json

import pytest

from openft.serve.call_grammar import LARGEST, arguments_schema, call_grammar
from openft.serve.lru import PinnedLRU
from openft.serve.output_text import OutputText, held_back
from openft.serve.tool_calls import ToolCallText, forced_calls, parse_calls


class CharTokenizer:
    """One token per character, except token 1000 + k which is the k-th byte of 'é' (2 bytes)."""

    def decode(self, ids, skip_special_tokens=True):
        raw = b"".join("é".encode()[i - 1000 : i - 999] if i >= 1000 else chr(i).encode() for i in ids)
        return raw.decode("utf-8", errors="replace")


def feed(text: OutputText, tokens) -> list[str]:
    return [text.push(token) for token in tokens]


def test_held_back_is_the_longest_end_that_could_start_a_marker():
    assert held_back("hello wor", ["world", "x"]) == 3
    assert held_back("hello", ["world"]) == 0
    assert held_back("ab", ["abc", "bcd"]) == 2


def test_text_stops_at_the_first_stop_sequence_and_never_shows_part_of_it():
    text = OutputText(CharTokenizer(), stop=["END", "xyz"])
    shown = feed(text, map(ord, "abcEN"))
    assert "".join(shown) == "abc" and shown[-2:] == ["", ""]
    assert text.push(ord("D")) == "" and text.stopped and text.text == "abc"
    other = OutputText(CharTokenizer(), stop=["END"])
    assert "".join(feed(other, map(ord, "aENb"))) + other.flush() == "aENb" and not other.stopped


def test_characters_split_across_tokens_come_out_whole():
    text = OutputText(CharTokenizer())
    assert feed(text, [ord("a"), 1000, 1001, ord("b")]) == ["a", "", "é", "b"]
    cut = OutputText(CharTokenizer())
    assert feed(cut, [ord("a"), 1000]) == ["a", ""] and cut.flush() == "\ufffd"


def test_tool_call_blocks_are_held_out_of_the_content_and_parsed():
    text = ToolCallText({"get_weather"})
    shown = [
        text.feed(part)
        for part in [
            "Let me check. <tool",
            '_call>\n{"name": "get_weather", ',
            '"arguments": {"city": "Paris"}}\n</tool_call>',
        ]
    ]
    assert "".join(shown) == "Let me check. "
    rest, [call] = text.finish()
    assert rest == "" and call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    assert call.id.startswith("call_") and len(call.id) == 29


def test_text_that_is_not_a_call_of_a_known_tool_stays_content():
    unknown = ToolCallText({"get_weather"})
    unknown.feed('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>')
    assert unknown.finish() == ('<tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>', [])
    plain = ToolCallText({"get_weather"})
    assert plain.feed("a < b <tool") == "a < b " and plain.finish() == ("<tool", [])
    assert parse_calls("<tool_call>{not json}</tool_call>", {"x"}) is None
    calls = parse_calls(
        '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>\n<tool_call>{"name": "x"}', {"x"}
    )
    assert [c.arguments for c in calls] == ["{}", "{}"]


def test_call_grammar_names_only_the_chosen_tools():
    tools = [
        {"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("a", "b")
    ]
    assert '"const": "a"' in call_grammar(tools) and '"const": "b"' in call_grammar(tools)
    assert '"const": "a"' not in call_grammar(tools, "b")
    assert call_grammar(tools).startswith('start: "<tool_call>\\n" call "\\n</tool_call>"')


def test_a_block_cut_at_the_token_limit_is_a_call_as_far_as_it_got():
    cut = '<tool_call>\n{"name": "move", "arguments": {"distance": 1'
    assert parse_calls(cut, {"move"}) is None
    [call] = parse_calls(cut, {"move"}, cut=True)
    assert (call.name, call.arguments) == ("move", '{"distance": 1')
    [whole] = parse_calls(cut + "}}\n</tool", {"move"}, cut=True)
    assert json.loads(whole.arguments) == {"distance": 1}
    assert parse_calls('<tool_call>\n{"name": "mo', {"move"}, cut=True) is None  # name not whole
    auto = ToolCallText(["move"])
    assert auto.feed("Sure. " + cut) == "Sure. "
    assert [(c.name, c.arguments) for c in auto.finish(cut=True)[1]] == [("move", '{"distance": 1')]


def test_a_forced_output_is_never_content_and_always_a_call():
    forced = ToolCallText(["land", "move"], forced=True)
    assert forced.feed('<tool_call>\n{"name": "mo') == ""
    rest, [call] = forced.finish(cut=True)
    assert rest == "" and (call.name, call.arguments) == ("move", "")
    assert [c.name for c in forced_calls("<tool", ["land", "move"])] == ["land"]
    [whole] = forced_calls('<tool_call>\n{"name": "land", "arguments": {}}\n</tool_call>', ["land"])
    assert (whole.name, whole.arguments) == ("land", "{}")


def test_forced_arguments_take_no_key_their_schema_does_not_name():
    point = {"type": "object", "properties": {"at": {"enum": ["here", "there"]}}}
    loose = {
        "type": "object",
        "properties": {"at": point, "path": {"type": "array", "items": point}, "or": {"anyOf": [point]}},
    }
    shut = arguments_schema(loose)
    assert shut["additionalProperties"] is False
    assert shut["properties"]["at"]["additionalProperties"] is False
    assert shut["properties"]["path"]["items"]["additionalProperties"] is False
    assert shut["properties"]["or"]["anyOf"][0]["additionalProperties"] is False
    assert "additionalProperties" not in loose  # the request's schema is left as it was
    kept = {"type": "object", "properties": {}, "additionalProperties": {"enum": [1]}}
    assert arguments_schema(kept) == kept
    combined = {"type": "object", "properties": {"a": point}, "anyOf": [point], "allOf": [point]}
    assert "additionalProperties" not in arguments_schema(combined)
    assert arguments_schema(combined)["anyOf"] == [point] == arguments_schema(combined)["allOf"]
    assert (
        arguments_schema(None)
        == arguments_schema({})
        == {
            "type": "object",
            "properties": {},
            "additionalProperties": False,
        }
    )


def test_forced_numbers_are_bounded_so_they_end():
    numbers = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "x": {"type": ["number", "null"], "exclusiveMinimum": 0},
            "step": {"type": "number", "multipleOf": 0.5, "maximum": 10},
        },
        "additionalProperties": False,
    }
    bounded = arguments_schema(numbers)["properties"]
    assert bounded["n"] == {"type": "integer", "minimum": -LARGEST, "maximum": LARGEST}
    assert bounded["x"] == {**numbers["properties"]["x"], "maximum": LARGEST, "multipleOf": 1e-9}
    assert bounded["step"] == {**numbers["properties"]["step"], "minimum": -LARGEST}


def test_pinned_lru_evicts_the_least_recently_used_unpinned_entry():
    evicted = []
    lru = PinnedLRU(2, lambda key, value: evicted.append((key, value)))
    for key in "abc":
        lru.acquire(key, lambda k=key: k.upper())
    assert lru.keys() == ["a", "b", "c"] and evicted == []  # all pinned: over capacity for now
    lru.release("a")
    assert evicted == [("a", "A")] and lru.keys() == ["b", "c"]
    lru.release("b")
    lru.acquire("c", lambda: pytest.fail("c is loaded"))
    lru.release("c")
    lru.release("c")
    assert lru.keys() == ["b", "c"]
    lru.acquire("d", lambda: "D")
    assert evicted[-1] == ("b", "B") and lru.keys() == ["c", "d"]

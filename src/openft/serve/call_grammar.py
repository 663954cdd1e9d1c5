"""Call grammar: the Lark grammar (llguidance) that forces one ``<tool_call>`` block.

``tool_choice`` "required" or a named function gets exactly one block,
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``, whose arguments follow the
function's ``parameters`` schema (embedded with ``%json``), and nothing after it. A small model
held to a schema it would rather leave keeps going down whatever path stays open (a key it invents,
another digit), so the arguments are held to what can end:

- as OpenAI forces a call, an object schema that does not say ``additionalProperties`` takes no key
  it does not name; a function without parameters (none, or ``{}``) takes ``{}``;
- a number without bounds stays within ±(2**53 - 1), the integers every JSON reader holds exactly
  (RFC 8259 §6), and has at most ``DECIMALS`` decimals unless its ``multipleOf`` says otherwise.

Objects combined with ``allOf``, ``anyOf``, ``oneOf`` or ``$ref`` are left open, and so are
``anyOf``/``oneOf`` branches that meet keys their parent names: closing one side of a combination
would forbid the keys the other side names. Strings and arrays keep the lengths their schema gives.
"""

from __future__ import annotations

import json

from openft.lm.grammar import JSON_STYLE

OPEN, CLOSE = "<tool_call>", "</tool_call>"
NO_PARAMETERS = {"type": "object", "properties": {}, "additionalProperties": False}
LARGEST = 2**53 - 1
DECIMALS = 9
COMBINED = ("allOf", "anyOf", "oneOf", "$ref")
SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
SCHEMA_LISTS = ("anyOf", "oneOf", "prefixItems")


def call_grammar(tools: list[dict], name: str | None = None) -> str:
    """A Lark grammar for exactly one call of ``name``, or of any of ``tools``."""
    options = [
        {
            "type": "object",
            "properties": {"name": {"const": f["name"]}, "arguments": arguments_schema(f.get("parameters"))},
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for f in (tool["function"] for tool in tools)
        if name is None or f["name"] == name
    ]
    schema = {"anyOf": options, "x-guidance": JSON_STYLE}
    return f'start: "{OPEN}\\n" call "\\n{CLOSE}"\ncall: %json {json.dumps(schema)}'


def arguments_schema(parameters: dict | None) -> dict:
    """The schema a forced call's arguments follow: ``parameters`` held to what can end."""
    if not parameters:
        return NO_PARAMETERS
    return _ending(parameters)


def _ending(schema):
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            out[key] = {name: _ending(sub) for name, sub in schema[key].items()}
    for key in SCHEMA_LISTS:
        if isinstance(schema.get(key), list) and (key == "prefixItems" or not _names_keys(schema)):
            out[key] = [_ending(sub) for sub in schema[key]]
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out[key] = _ending(schema[key])
    if _plain_object(schema) and "additionalProperties" not in schema:
        out["additionalProperties"] = False
    return {**out, **_number_bounds(schema)}


def _number_bounds(schema: dict) -> dict:
    """The bounds a number without them gets: magnitude, and decimals for non-integers."""
    kinds = _types(schema)
    if not kinds & {"integer", "number"}:
        return {}
    bounds: dict = {}
    if "minimum" not in schema and "exclusiveMinimum" not in schema:
        bounds["minimum"] = -LARGEST
    if "maximum" not in schema and "exclusiveMaximum" not in schema:
        bounds["maximum"] = LARGEST
    if "number" in kinds and "multipleOf" not in schema:
        bounds["multipleOf"] = 10**-DECIMALS
    return bounds


def _names_keys(schema: dict) -> bool:
    """The schema says something about keys itself, which its ``anyOf``/``oneOf`` branches meet."""
    return any(
        key in schema for key in ("properties", "required", "patternProperties", "additionalProperties")
    )


def _plain_object(schema: dict) -> bool:
    kinds = _types(schema) or ({"object"} if "properties" in schema else set())
    return "object" in kinds and "patternProperties" not in schema and not any(k in schema for k in COMBINED)


def _types(schema: dict) -> set[str]:
    kind = schema.get("type")
    return {kind} if isinstance(kind, str) else set(kind) if isinstance(kind, list) else set()

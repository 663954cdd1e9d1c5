"""Grammar: what a constrained output must follow (pure Python, importable by the API).

A ``Grammar`` is a JSON schema or a Lark grammar (llguidance syntax) plus the request field an
error names; ``constraints.py`` compiles it for a tokenizer. JSON is written as OpenAI writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# JSON as OpenAI writes it: ", " and ": " separators and no other whitespace (llguidance options).
JSON_STYLE = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}


@dataclass(frozen=True)
class Grammar:
    """Output constrained to a JSON schema or a Lark grammar (llguidance syntax)."""

    kind: Literal["json_schema", "lark"]
    source: dict | str
    param: str  # the request field named when the grammar is invalid


def response_format_grammar(response_format: dict | None, param: str = "response_format") -> Grammar | None:
    """The grammar an OpenAI ``response_format`` (as JSON: ``text``, ``json_object`` or
    ``json_schema`` with its ``schema``) holds the output to; None for plain text."""
    if not response_format or response_format.get("type") in (None, "text"):
        return None
    if response_format["type"] == "json_object":
        return Grammar("json_schema", {"type": "object"}, param)
    schema = (response_format.get("json_schema") or {}).get("schema") or {}
    return Grammar("json_schema", schema, f"{param}.json_schema.schema")

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

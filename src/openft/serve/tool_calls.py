"""Tool calls: the ``<tool_call>`` blocks a model writes, turned into OpenAI ``tool_calls``.

Models are prompted (and fine-tuned, see ``train.conversation``) to call a tool by writing
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``. ``ToolCallText`` keeps those
blocks out of the streamed content as they are generated and parses them when the choice ends;
text that does not parse as a call of a known tool is given back as content. ``call_grammar``
is the grammar that forces one such block, for ``tool_choice`` "required" or a named function.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from openft import ids
from openft.lm.grammar import JSON_STYLE
from openft.serve.output_text import held_back

OPEN, CLOSE = "<tool_call>", "</tool_call>"
BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)


@dataclass(frozen=True)
class ParsedCall:
    id: str
    name: str
    arguments: str  # a JSON object, as a string


class ToolCallText:
    def __init__(self, names: set[str]):
        self.names = names
        self.text = ""
        self.shown = 0
        self.capturing = False

    def feed(self, delta: str) -> str:
        """The content that can be shown now; anything from ``<tool_call>`` on is held."""
        self.text += delta
        if self.capturing:
            return ""
        start = self.text.find(OPEN, self.shown)
        if start >= 0:
            self.capturing = True
            return self._show(start)
        return self._show(len(self.text) - held_back(self.text[self.shown :], [OPEN]))

    def finish(self) -> tuple[str, list[ParsedCall]]:
        """(content not shown yet, the calls) once the choice has ended."""
        rest = self.text[self.shown :]
        self.shown = len(self.text)
        calls = parse_calls(rest, self.names) if self.capturing else None
        if calls is None:
            return rest, []
        return BLOCK.sub("", rest).strip(), calls

    def _show(self, end: int) -> str:
        out, self.shown = self.text[self.shown : end], max(self.shown, end)
        return out


def parse_calls(text: str, names: set[str]) -> list[ParsedCall] | None:
    """Every ``<tool_call>`` block in ``text`` as a call, or None if one is not a call of a known tool."""
    calls = []
    for body in BLOCK.findall(text):
        try:
            data = json.loads(body)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("name") not in names:
            return None
        arguments = data.get("arguments", {})
        if not isinstance(arguments, str):
            arguments = json.dumps(arguments)
        calls.append(ParsedCall(id="call_" + ids.random_token(24), name=data["name"], arguments=arguments))
    return calls or None


def call_grammar(tools: list[dict], name: str | None = None) -> str:
    """A Lark grammar (llguidance) for exactly one call of ``name``, or of any of ``tools``."""
    options = [
        {
            "type": "object",
            "properties": {
                "name": {"const": f["name"]},
                "arguments": f.get("parameters") or {"type": "object"},
            },
            "required": ["name", "arguments"],
            "additionalProperties": False,
        }
        for f in (tool["function"] for tool in tools)
        if name is None or f["name"] == name
    ]
    schema = {"anyOf": options, "x-guidance": JSON_STYLE}
    return f'start: "{OPEN}\\n" call "\\n{CLOSE}"\ncall: %json {json.dumps(schema)}'

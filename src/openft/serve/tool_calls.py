"""Tool calls: the ``<tool_call>`` blocks a model writes, turned into OpenAI ``tool_calls``.

Models are prompted (and fine-tuned, see ``train.conversation``) to call a tool by writing
``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``. ``ToolCallText`` keeps those
blocks out of the streamed content as they are generated and parses them when the choice ends;
text that does not parse as a call of a known tool is given back as content. A block cut at the
token limit is still a call once its name is whole, with its arguments as far as they got (as
OpenAI answers a call cut short). Under a forced ``tool_choice`` (``call_grammar``) the whole
output is one block: it is never content, and is a call however short it was cut.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from openft import ids
from openft.serve.call_grammar import CLOSE, OPEN
from openft.serve.output_text import held_back

BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)
HEAD = re.compile(r'\{\s*"name"\s*:\s*"(?P<name>[^"]*)(?P<whole>")?(?P<more>\s*,\s*"arguments"\s*:\s*)?')


@dataclass(frozen=True)
class ParsedCall:
    id: str
    name: str
    arguments: str  # a JSON object, as a string (cut short: as far as it got)

    @classmethod
    def of(cls, name: str, arguments: str) -> ParsedCall:
        return cls(id="call_" + ids.random_token(24), name=name, arguments=arguments)


class ToolCallText:
    def __init__(self, names: Sequence[str], *, forced: bool = False):
        self.names, self.forced = names, forced  # names in the order of the request's tools
        self.text = ""
        self.shown = 0
        self.capturing = False

    def feed(self, delta: str) -> str:
        """The content that can be shown now; anything from ``<tool_call>`` on is held."""
        self.text += delta
        if self.capturing or self.forced:
            return ""
        start = self.text.find(OPEN, self.shown)
        if start >= 0:
            self.capturing = True
            return self._show(start)
        return self._show(len(self.text) - held_back(self.text[self.shown :], [OPEN]))

    def finish(self, *, cut: bool = False) -> tuple[str, list[ParsedCall]]:
        """(content not shown yet, the calls) once the choice has ended (``cut``: at its token limit)."""
        rest = self.text[self.shown :]
        self.shown = len(self.text)
        if self.forced:
            return "", forced_calls(rest, self.names)
        calls = parse_calls(rest, self.names, cut=cut) if self.capturing else None
        if calls is None:
            return rest, []
        return BLOCK.sub("", rest).strip(), calls

    def _show(self, end: int) -> str:
        out, self.shown = self.text[self.shown : end], max(self.shown, end)
        return out


def parse_calls(
    text: str, names: Collection[str], *, cut: bool = False, guess: bool = False
) -> list[ParsedCall] | None:
    """Every ``<tool_call>`` block in ``text`` as a call, or None if one is not a call of a known tool.

    ``cut``: the text ended early, so a last block left open is taken as far as it got.
    ``guess``: such a block cut inside its name calls the first of ``names`` that fits.
    """
    calls = []
    for match in BLOCK.finditer(text):
        open_end = cut and not match.group(0).endswith(CLOSE)
        call = _whole_call(match.group(1), names, open_end)
        if call is None and open_end:
            call = _cut_call(match.group(1), list(names), guess)
        if call is None:
            return None
        calls.append(call)
    return calls or None


def forced_calls(text: str, names: Sequence[str]) -> list[ParsedCall]:
    """The calls of an output forced by ``call_grammar`` (a prefix of its block), however short."""
    return parse_calls(text, names, cut=True, guess=True) or [ParsedCall.of(names[0], "")]


def _whole_call(body: str, names: Collection[str], open_end: bool) -> ParsedCall | None:
    try:  # a block left open may still hold a whole call, cut in its closing tag
        data, end = json.JSONDecoder().raw_decode(body)
    except json.JSONDecodeError:
        return None
    if (end < len(body) and not open_end) or not isinstance(data, dict) or data.get("name") not in names:
        return None
    arguments = data.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return ParsedCall.of(data["name"], arguments)


def _cut_call(body: str, names: list[str], guess: bool) -> ParsedCall | None:
    """A call cut short: its name (whole, or guessed from its start) and its arguments so far."""
    head = HEAD.match(body)
    if head is not None and head["whole"]:
        if head["name"] not in names:
            return None
        return ParsedCall.of(head["name"], body[head.end() :] if head["more"] else "")
    start = head["name"] if head is not None else ""
    fits = [name for name in names if name.startswith(start)]
    return ParsedCall.of(fits[0], "") if guess and fits else None

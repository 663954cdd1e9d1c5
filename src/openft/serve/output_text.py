"""OutputText: one choice's text, decoded token by token and cut at the first stop sequence.

Decoding re-reads a short window of tokens (the ``prefix``/``read`` offsets) so multi-byte
characters split across tokens come out whole. Text that could still turn into a stop sequence
is held back until it cannot, so a caller never sees part of a stop sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

INCOMPLETE = "\ufffd"


def held_back(text: str, markers: Sequence[str]) -> int:
    """Length of the longest end of ``text`` that is the start of a marker (and may become one)."""
    best = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), best, -1):
            if text.endswith(marker[:size]):
                best = size
                break
    return best


class OutputText:
    def __init__(self, tokenizer, stop: Sequence[str] = ()):
        self.tokenizer = tokenizer
        self.stop = [marker for marker in stop if marker]
        self.ids: list[int] = []
        self.text = ""
        self.emitted = 0
        self.stopped = False  # a stop sequence was found
        self._prefix = self._read = 0

    def push(self, token_id: int) -> str:
        """Add a generated token; returns the text that can be shown now (maybe empty)."""
        self.ids.append(token_id)
        self.text += self._decode_new()
        cut = self._stop_index()
        if cut is not None:
            self.text, self.stopped = self.text[:cut], True
            return self.flush()
        end = len(self.text) - held_back(self.text[self.emitted :], self.stop)
        return self._emit(end)

    def flush(self) -> str:
        """Everything not shown yet (called when the choice ends)."""
        if not self.stopped and self._read < len(self.ids):
            before = self._decode(self._prefix, self._read)
            self.text += self._decode(self._prefix, len(self.ids))[len(before) :]
            self._prefix = self._read = len(self.ids)
        return self._emit(len(self.text))

    def _emit(self, end: int) -> str:
        if end <= self.emitted:
            return ""
        out, self.emitted = self.text[self.emitted : end], end
        return out

    def _decode(self, start: int, end: int) -> str:
        return self.tokenizer.decode(self.ids[start:end], skip_special_tokens=True)

    def _decode_new(self) -> str:
        before = self._decode(self._prefix, self._read)
        after = self._decode(self._prefix, len(self.ids))
        if len(after) <= len(before) or after.endswith(INCOMPLETE):
            return ""
        self._prefix, self._read = self._read, len(self.ids)
        return after[len(before) :]

    def _stop_index(self) -> int | None:
        found = [index for index in (self.text.find(m, self.emitted) for m in self.stop) if index >= 0]
        return min(found) if found else None

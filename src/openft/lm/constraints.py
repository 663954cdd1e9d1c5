"""Constraints: output held to a JSON schema or a grammar, token by token, with llguidance.

``GrammarCompiler`` turns a ``Grammar`` into llguidance's form for one tokenizer and checks it
(an invalid schema is a 400 naming the request field). Each choice then gets a ``TokenConstraint``:
before each token it says which tokens may come next (the end-of-turn token only once the output
is complete), and it is told the token chosen. JSON is written with OpenAI's separators
(``", "`` and ``": "``) and no other whitespace, so a constrained model cannot pad forever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from openft.errors import InvalidRequest, ServerError
from openft.lm.grammar import JSON_STYLE, Grammar

if TYPE_CHECKING:
    from llguidance import LLTokenizer


class TokenConstraint:
    def __init__(self, matcher, vocab_size: int):
        self.matcher, self.vocab_size = matcher, vocab_size

    def allowed(self) -> torch.Tensor:
        """A boolean mask over the vocabulary: the tokens the grammar accepts next."""
        bits = np.unpackbits(np.frombuffer(self.matcher.compute_bitmask(), dtype=np.uint8), bitorder="little")
        mask = np.zeros(self.vocab_size, dtype=bool)
        size = min(self.vocab_size, bits.size)
        mask[:size] = bits[:size].astype(bool)
        return torch.from_numpy(mask)

    def accept(self, token: int) -> bool:
        return self.matcher.consume_token(token)

    @property
    def complete(self) -> bool:
        """The output is whole and nothing more may follow."""
        return self.matcher.is_stopped()

    @property
    def failed(self) -> bool:
        return self.matcher.is_error()


class CompiledGrammar:
    def __init__(self, matcher, vocab_size: int):
        self._matcher, self._vocab_size = matcher, vocab_size

    def new_constraint(self) -> TokenConstraint:
        return TokenConstraint(self._matcher.deep_copy(), self._vocab_size)


class GrammarCompiler:
    """Grammars for one tokenizer; llguidance's view of the tokenizer is built once (about a second)."""

    def __init__(self, tokenizer, vocab_size: int, eos_token_id: int):
        self.tokenizer, self.vocab_size, self.eos_token_id = tokenizer, vocab_size, eos_token_id
        self._ll_tokenizer: LLTokenizer | None = None

    def compile(self, grammar: Grammar) -> CompiledGrammar:
        llguidance = _llguidance()
        text = _grammar_text(llguidance.LLMatcher, grammar)
        is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(text, self._tokenizer())
        if is_error:
            raise InvalidRequest(
                f"Invalid '{grammar.param}': {messages[0]}", param=grammar.param, code="invalid_grammar"
            )
        matcher = llguidance.LLMatcher(self._tokenizer(), text, log_level=0)
        if matcher.is_error():
            raise InvalidRequest(
                f"Invalid '{grammar.param}': {matcher.get_error()}",
                param=grammar.param,
                code="invalid_grammar",
            )
        return CompiledGrammar(matcher, self.vocab_size)

    def _tokenizer(self) -> LLTokenizer:
        if self._ll_tokenizer is None:
            from llguidance.hf import from_tokenizer

            self._ll_tokenizer = from_tokenizer(
                self.tokenizer, n_vocab=self.vocab_size, eos_token=self.eos_token_id
            )
        return self._ll_tokenizer


def _grammar_text(matcher_class, grammar: Grammar) -> str:
    if grammar.kind == "lark":
        return matcher_class.grammar_from_lark(grammar.source)
    try:
        return matcher_class.grammar_from_json_schema(grammar.source, defaults=JSON_STYLE)
    except ValueError as exc:
        raise InvalidRequest(
            f"Invalid '{grammar.param}': {exc}", param=grammar.param, code="invalid_grammar"
        ) from exc


def _llguidance():
    try:
        import llguidance
    except ImportError as exc:  # an install without the serve extra
        raise ServerError(
            "Structured outputs need the llguidance package (pip install 'openft[serve]')."
        ) from exc
    return llguidance

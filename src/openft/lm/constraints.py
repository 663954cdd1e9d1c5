"""Constraints: output held to a JSON schema or a grammar, token by token, with llguidance.

``GrammarCompiler`` turns a ``Grammar`` into llguidance's form for one tokenizer and checks it
(an invalid schema is a 400 naming the request field). Each choice then gets a ``TokenConstraint``:
before each token it says which tokens may come next (the end-of-turn token only once the output
is complete), and it is told the token chosen; ``GrammarLogitsProcessor`` does the same for every
row of a transformers ``generate()`` call (``constrain_generate``: reinforcement sampling). JSON
is written with OpenAI's separators (``", "`` and ``": "``) and no other whitespace, so a
constrained model cannot pad forever.
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

    @classmethod
    def for_model(cls, tokenizer, model, stop_ids: frozenset[int]) -> GrammarCompiler:
        """A compiler for ``model``'s whole output vocabulary, ending outputs with its end-of-turn
        token (the tokenizer's eos when that is one of the model's stop tokens)."""
        eos = tokenizer.eos_token_id if tokenizer.eos_token_id in stop_ids else min(stop_ids)
        return cls(tokenizer, model.get_output_embeddings().weight.shape[0], eos)

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


class GrammarLogitsProcessor:
    """A transformers logits processor holding every row of one ``generate()`` call to a grammar.

    Each row gets its own constraint on the first call; on each later call the token the row
    chose last is fed to it first. A row whose output is complete (or cannot continue) may only
    end: its scores keep the stop tokens alone. Make one per ``generate()`` call."""

    def __init__(self, grammar: CompiledGrammar, stop_ids: frozenset[int]):
        self.grammar, self.stop_ids = grammar, sorted(stop_ids)
        self._rows: list[TokenConstraint] | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        if self._rows is None:
            self._rows = [self.grammar.new_constraint() for _ in range(input_ids.shape[0])]
        else:
            for row, token in zip(self._rows, input_ids[:, -1].tolist(), strict=True):
                if not (row.complete or row.failed):
                    row.accept(token)
        allowed = torch.zeros(scores.shape, dtype=torch.bool)
        for index, row in enumerate(self._rows):
            if row.complete or row.failed:
                allowed[index, self.stop_ids] = True
            else:
                mask = row.allowed()
                width = min(mask.shape[0], scores.shape[1])
                allowed[index, :width] = mask[:width]
        return scores.masked_fill(~allowed.to(scores.device), float("-inf"))


def constrain_generate(model, grammar: CompiledGrammar, stop_ids: frozenset[int]) -> None:
    """Hold every later ``model.generate()`` call to ``grammar`` (a fresh processor per call)."""
    from transformers import LogitsProcessorList

    plain = model.generate

    def generate(*args, **kwargs):
        processors = LogitsProcessorList(kwargs.pop("logits_processor", None) or [])
        processors.append(GrammarLogitsProcessor(grammar, stop_ids))
        return plain(*args, logits_processor=processors, **kwargs)

    model.generate = generate

"""Sequence: one choice being generated, and the JobTracker that closes its job.

A sequence takes one row of logits per step: it picks a token (its Sampler, under its grammar's
mask), decodes it (its OutputText) and reports the text. It ends on an end-of-turn token, a stop
sequence, a complete grammar output, or its token budget. The tracker counts a job's tokens,
sends ``Completed`` once its last choice ends, and releases the job's lease on the model.
"""

from __future__ import annotations

from collections.abc import Callable

from openft.lm.constraints import TokenConstraint
from openft.serve.generation import Completed, Delta, Failed, Finished, FinishReason, TokenLogprob
from openft.serve.output_text import OutputText
from openft.serve.sampling import Sampler, token_logprobs
from openft.serve.stream import Stream


class JobTracker:
    def __init__(self, stream: Stream, n_choices: int, prompt_tokens: int, release: Callable[[], None]):
        self.stream = stream
        self.open = n_choices
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = 0
        self.failed = False
        self._release = release

    @property
    def abandoned(self) -> bool:
        return self.failed or self.stream.cancelled

    def finished(self, index: int, reason: FinishReason, tokens: int) -> None:
        self.completion_tokens += tokens
        self.stream.emit(Finished(index, reason, tokens))
        self.closed()

    def fail(self, error: Exception) -> None:
        if not self.failed:
            self.failed = True
            self.stream.emit(Failed(error))

    def closed(self) -> None:
        """One choice is over (finished or dropped); the last one completes the job."""
        self.open -= 1
        if self.open:
            return
        self._release()
        if not self.abandoned:
            self.stream.emit(Completed(self.prompt_tokens, self.completion_tokens))


class Sequence:
    def __init__(
        self,
        *,
        tracker: JobTracker,
        index: int,
        prompt_ids: list[int],
        max_tokens: int,
        sampler: Sampler,
        output: OutputText,
        stop_ids: frozenset[int],
        adapter: str | None,
        constraint: TokenConstraint | None = None,
        logprobs: int | None = None,
    ):
        self.tracker, self.index, self.prompt_ids = tracker, index, prompt_ids
        self.max_tokens, self.sampler, self.output = max_tokens, sampler, output
        self.stop_ids, self.adapter, self.constraint, self.logprobs = stop_ids, adapter, constraint, logprobs
        self.generated: list[int] = []
        self.done = False

    def advance(self, logits) -> None:
        """Take one token from this row of logits (float32, CPU) and report it."""
        token = self.sampler.choose(logits, self.constraint.allowed() if self.constraint else None)
        self.generated.append(token)
        if self.constraint is not None:
            self.constraint.accept(token)
        if token in self.stop_ids:
            self.finish("stop")
            return
        scores = self._logprobs(logits, token)
        text = self.output.push(token)
        if text or scores:
            self.tracker.stream.emit(Delta(self.index, text, scores))
        if self.output.stopped or (
            self.constraint is not None and (self.constraint.complete or self.constraint.failed)
        ):
            self.finish("stop")
        elif len(self.generated) >= self.max_tokens:
            self.finish("length")

    def finish(self, reason: FinishReason) -> None:
        rest = self.output.flush()
        if rest:
            self.tracker.stream.emit(Delta(self.index, rest))
        self.done = True
        self.tracker.finished(self.index, reason, len(self.generated))

    def drop(self) -> None:
        """Stop without reporting (the caller went away or the job failed)."""
        if not self.done:
            self.done = True
            self.tracker.closed()

    @property
    def last_token(self) -> int:
        return self.generated[-1]

    def _logprobs(self, logits, token: int) -> list[TokenLogprob]:
        if self.logprobs is None:
            return []
        decode = self.output.tokenizer.decode
        logprob, top = token_logprobs(logits, token, self.logprobs)
        return [TokenLogprob(decode([token]), logprob, [(decode([t]), lp) for t, lp in top])]

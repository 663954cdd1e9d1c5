"""Admission: a job becomes its sequences, or a 400 before anything is generated.

On the engine's thread: lease the model (loading base, adapter or weights on first use),
tokenize every prompt, check it fits the context with the tokens asked for, compile the grammar
and the logit bias, then send ``Accepted`` and hand back one ``Sequence`` per choice.
"""

from __future__ import annotations

import secrets

from openft.errors import InvalidRequest
from openft.serve.generation import Accepted, ChatPrompt, GenerationJob
from openft.serve.output_text import OutputText
from openft.serve.pool import Lease, LoadedModel, ModelPool
from openft.serve.prompts import prompt_ids, prompt_text
from openft.serve.sampling import Sampler
from openft.serve.sequence import JobTracker, Sequence
from openft.serve.stream import Stream

SEED_STRIDE = 0x9E3779B97F4A7C15  # choice j of a seeded request draws from seed + j * stride


def admit(
    job: GenerationJob, stream: Stream, pool: ModelPool, *, default_max_tokens: int
) -> tuple[LoadedModel, list[Sequence]]:
    """The model the job runs on and one sequence per choice (``Accepted`` already sent)."""
    lease = pool.lease(job.target)
    try:
        return lease.model, _sequences(job, stream, lease, default_max_tokens)
    except BaseException:
        lease.release()
        raise


def _sequences(job: GenerationJob, stream: Stream, lease: Lease, default_max_tokens: int) -> list[Sequence]:
    model = lease.model
    prompts = [prompt_ids(model.tokenizer, prompt, model.vocab_size) for prompt in job.prompts]
    budgets = [token_budget(job, len(ids), model.context_length, default_max_tokens) for ids in prompts]
    _check_logit_bias(job, model.vocab_size)
    compiled = model.grammar.compile(job.grammar) if job.grammar is not None else None
    tracker = JobTracker(stream, job.n_choices, sum(map(len, prompts)), lease.release)
    texts = [prompt_text(model.tokenizer, prompt, ids) for prompt, ids in zip(job.prompts, prompts)]
    stream.emit(Accepted([len(ids) for ids in prompts], texts))
    sequences = []
    for index in range(job.n_choices):
        number = index // job.n
        sequences.append(
            Sequence(
                tracker=tracker,
                index=index,
                prompt_ids=prompts[number],
                max_tokens=budgets[number],
                sampler=Sampler(job.sampling, choice_seed(job.sampling.seed, index)),
                output=OutputText(model.tokenizer, job.sampling.stop),
                stop_ids=model.stop_ids,
                adapter=lease.adapter,
                constraint=compiled.new_constraint() if compiled else None,
                logprobs=job.sampling.logprobs,
            )
        )
    return sequences


def token_budget(job: GenerationJob, prompt_tokens: int, context: int, default_max_tokens: int) -> int:
    """Tokens a choice may generate: as asked, or what the context leaves (up to the default cap)."""
    asked = job.sampling.max_tokens
    room = context - prompt_tokens
    if room <= 0 or (asked is not None and asked > room):
        param = "messages" if isinstance(job.prompts[0], ChatPrompt) else "prompt"
        wanted = prompt_tokens + (asked or 0)
        raise InvalidRequest(
            f"This model's maximum context length is {context} tokens. "
            f"However, you requested {wanted} tokens "
            f"({prompt_tokens} in the {param}, {asked or 0} in the completion). "
            f"Please reduce the length of the {param} or completion.",
            param=param,
            code="context_length_exceeded",
        )
    return asked if asked is not None else min(room, default_max_tokens)


def choice_seed(seed: int | None, index: int) -> int:
    if seed is None:
        return secrets.randbits(63)
    return (seed + index * SEED_STRIDE) % 2**63


def _check_logit_bias(job: GenerationJob, vocab_size: int) -> None:
    for token in job.sampling.logit_bias:
        if not 0 <= token < vocab_size:
            raise InvalidRequest(
                f"Invalid key in 'logit_bias': {token} is not a token id of this model.", param="logit_bias"
            )

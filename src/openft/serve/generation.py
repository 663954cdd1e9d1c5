"""Generation: what the API asks an engine for and the events that come back (pure Python).

A ``GenerationJob`` holds one or more prompts, each answered ``n`` times; choice ``i * n + j`` is
the j-th answer to prompt i. The engine reports through the job's ``Stream``: ``Accepted`` once the
prompts are tokenized and fit (or ``Failed`` instead), then ``Delta`` text per choice, ``Finished``
per choice, and ``Completed`` with the exact token counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from openft.catalog import ModelTarget
from openft.lm.grammar import Grammar

FinishReason = Literal["stop", "length"]


@dataclass(frozen=True)
class Sampling:
    max_tokens: int | None = None  # None: as many as the context allows, up to the engine's default cap
    temperature: float = 1.0  # 0: greedy
    top_p: float = 1.0
    seed: int | None = None  # None: a fresh random seed per choice
    stop: tuple[str, ...] = ()
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    logit_bias: dict[int, float] = field(default_factory=dict)
    logprobs: int | None = None  # None: off; k: each token's logprob and the k most likely alternatives


@dataclass(frozen=True)
class ChatPrompt:
    messages: list[dict]  # plain-text OpenAI messages (roles system/user/assistant/tool)
    tools: list[dict] | None = None


@dataclass(frozen=True)
class TextPrompt:
    text: str | None = None
    token_ids: list[int] | None = None


@dataclass(frozen=True)
class GenerationJob:
    target: ModelTarget
    prompts: list[ChatPrompt | TextPrompt]
    sampling: Sampling = Sampling()
    n: int = 1
    grammar: Grammar | None = None

    @property
    def n_choices(self) -> int:
        return len(self.prompts) * self.n


@dataclass(frozen=True)
class TokenLogprob:
    token: str
    logprob: float
    top: list[tuple[str, float]]


@dataclass(frozen=True)
class Accepted:
    prompt_tokens: list[int]  # per prompt
    prompt_texts: list[str]


@dataclass(frozen=True)
class Delta:
    index: int
    text: str
    logprobs: list[TokenLogprob] = field(default_factory=list)


@dataclass(frozen=True)
class Finished:
    index: int
    reason: FinishReason
    completion_tokens: int


@dataclass(frozen=True)
class Completed:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Failed:
    error: Exception


Event = Accepted | Delta | Finished | Completed | Failed

"""Sampler: one choice's next token from the model's logits, reproducibly.

In OpenAI's order: ``logit_bias``, then presence/frequency penalties on the tokens generated so
far, then the grammar's mask, then temperature (0 is greedy) and nucleus (``top_p``) sampling.
Each choice draws from its own ``torch.Generator`` seeded from the request's seed, so a seed
gives the same answer whichever other requests share the batch.
"""

from __future__ import annotations

from collections import Counter

import torch

from openft.serve.generation import Sampling


class Sampler:
    def __init__(self, sampling: Sampling, seed: int):
        self.sampling = sampling
        self.generator = torch.Generator().manual_seed(seed)
        self.counts: Counter[int] = Counter()

    def choose(self, logits: torch.Tensor, allowed: torch.Tensor | None = None) -> int:
        """The next token for one row of (CPU, float32) logits; ``allowed`` is a boolean mask."""
        scores = self._adjusted(logits)
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        if self.sampling.temperature == 0:
            token = int(torch.argmax(scores))
        else:
            probs = torch.softmax(scores / self.sampling.temperature, dim=-1)
            if self.sampling.top_p < 1:
                probs = nucleus(probs, self.sampling.top_p)
            token = int(torch.multinomial(probs, 1, generator=self.generator))
        self.counts[token] += 1
        return token

    def _adjusted(self, logits: torch.Tensor) -> torch.Tensor:
        s = self.sampling
        if not (s.logit_bias or (self.counts and (s.presence_penalty or s.frequency_penalty))):
            return logits
        scores = logits.clone()
        if s.logit_bias:
            ids = torch.tensor(list(s.logit_bias), dtype=torch.long)
            scores[ids] += torch.tensor(list(s.logit_bias.values()), dtype=scores.dtype)
        if self.counts and (s.presence_penalty or s.frequency_penalty):
            ids = torch.tensor(list(self.counts), dtype=torch.long)
            counts = torch.tensor(list(self.counts.values()), dtype=scores.dtype)
            scores[ids] -= counts * s.frequency_penalty + s.presence_penalty
        return scores


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the most likely tokens whose probabilities add up to ``top_p`` (at least one)."""
    sorted_probs, order = torch.sort(probs, descending=True)
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs
    keep = before < top_p
    keep[0] = True
    kept = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
    return kept / kept.sum()


def token_logprobs(logits: torch.Tensor, token: int, top: int) -> tuple[float, list[tuple[int, float]]]:
    """The model's log probability of ``token`` and its ``top`` most likely tokens."""
    logprobs = torch.log_softmax(logits, dim=-1)
    best = torch.topk(logprobs, top) if top else None
    alternatives = list(zip(best.indices.tolist(), best.values.tolist())) if best is not None else []
    return float(logprobs[token]), alternatives

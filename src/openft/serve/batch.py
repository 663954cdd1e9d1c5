"""Batch: sequences on one loaded model decoded together, one forward pass per step for all.

Prompts are left-padded (attention mask 0, positions counted from each prompt's first token)
and prefilled once per distinct prompt: the ``n`` choices of a prompt share its key/value cache
rows. Finished sequences leave the batch at once (their cache rows are dropped). Two batches on
the same model can merge: the shorter cache is left-padded to the longer one's length, so a
request arriving mid-generation joins the running batch after its own prefill.
"""

from __future__ import annotations

import torch
from transformers.cache_utils import Cache, DynamicLayer

from openft.serve.pool import LoadedModel
from openft.serve.sequence import Sequence


class Batch:
    def __init__(self, model: LoadedModel, sequences: list[Sequence]):
        self.model = model
        self.sequences = sequences
        self.cache: Cache | None = None  # the three are set by prefill
        self.mask: torch.Tensor | None = None
        self.positions: torch.Tensor | None = None

    @property
    def done(self) -> bool:
        return not self.sequences

    def __len__(self) -> int:
        return len(self.sequences)

    def prefill(self) -> None:
        keys = list(dict.fromkeys(_prefill_key(s) for s in self.sequences))
        rows = torch.tensor([keys.index(_prefill_key(s)) for s in self.sequences], device=self.model.device)
        width = max(len(prompt) for prompt, _ in keys)
        pad = self.model.tokenizer.pad_token_id
        ids = torch.tensor([[pad] * (width - len(p)) + list(p) for p, _ in keys], device=self.model.device)
        mask = torch.tensor(
            [[0] * (width - len(p)) + [1] * len(p) for p, _ in keys], device=self.model.device
        )
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        logits, cache = self.model.forward(ids, mask, positions, None, [adapter for _, adapter in keys])
        cache.batch_select_indices(rows)
        self.cache, self.mask, self.positions = cache, mask[rows], positions[rows, -1:]
        self._take(logits[rows.cpu()])

    def step(self) -> None:
        ids = torch.tensor([[s.last_token] for s in self.sequences], device=self.model.device)
        _, mask, positions = self._state()
        self.mask = torch.cat([mask, mask.new_ones((len(self), 1))], dim=1)
        self.positions = positions + 1
        logits, self.cache = self._forward(ids, self.mask, self.positions)
        self._take(logits)

    def can_merge(self, other: Batch) -> bool:
        return other.model is self.model and all(
            type(layer) is DynamicLayer for layer in (*self._layers(), *other._layers())
        )

    def merge(self, other: Batch) -> None:
        """Take ``other``'s sequences into this batch (see ``can_merge``)."""
        (_, mask, positions), (_, other_mask, other_positions) = self._state(), other._state()
        width = max(mask.shape[1], other_mask.shape[1])
        for mine, theirs in zip(self._layers(), other._layers()):
            mine.keys = torch.cat([_left_pad(mine.keys, width, 2), _left_pad(theirs.keys, width, 2)])
            mine.values = torch.cat([_left_pad(mine.values, width, 2), _left_pad(theirs.values, width, 2)])
        self.mask = torch.cat([_left_pad(mask, width, 1), _left_pad(other_mask, width, 1)])
        self.positions = torch.cat([positions, other_positions])
        self.sequences += other.sequences
        other.sequences = []

    def fail(self, error: Exception) -> None:
        for sequence in self.sequences:
            sequence.tracker.fail(error)
            sequence.drop()
        self.sequences = []

    def _state(self) -> tuple[Cache, torch.Tensor, torch.Tensor]:
        """The cache, attention mask and last positions, which exist once the batch is prefilled."""
        if self.cache is None or self.mask is None or self.positions is None:
            raise RuntimeError("the batch is decoded before its prefill")
        return self.cache, self.mask, self.positions

    def _forward(
        self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, Cache]:
        return self.model.forward(ids, mask, positions, self.cache, [s.adapter for s in self.sequences])

    def _take(self, logits: torch.Tensor) -> None:
        for row, sequence in enumerate(self.sequences):
            if sequence.tracker.abandoned:
                sequence.drop()
            else:
                sequence.advance(logits[row])
        keep = [i for i, s in enumerate(self.sequences) if not s.done]
        if len(keep) == len(self.sequences):
            return
        self.sequences = [self.sequences[i] for i in keep]
        if keep:
            index = torch.tensor(keep, device=self.model.device)
            cache, mask, positions = self._state()
            cache.batch_select_indices(index)
            self.mask, self.positions = mask[index], positions[index]

    def _layers(self) -> list:
        return list(getattr(self.cache, "layers", None) or [None])


def _prefill_key(sequence: Sequence) -> tuple[tuple[int, ...], str | None]:
    """Choices of one prompt on one adapter share their prefill."""
    return tuple(sequence.prompt_ids), sequence.adapter


def _left_pad(tensor: torch.Tensor, width: int, dim: int) -> torch.Tensor:
    gap = width - tensor.shape[dim]
    if gap == 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = gap
    return torch.cat([tensor.new_zeros(shape), tensor], dim=dim)

"""Buckets: training batches of examples of about the same length, so little of a batch is padding.

A batch is padded to its longest example; drawn at random from chat data (short questions, answers
of very different lengths) most of a batch can be padding, and the model computes on every pad.
``LengthBuckets`` is the sampler the SFT and DPO trainers draw from instead: each epoch it shuffles
the examples (by the job's seed and the epoch), sorts each window of ``WINDOW_BATCHES`` batches
by length, cuts it into batches and shuffles the order of all full batches; a short last batch
stays last, as with the Trainer's own sampler. The same seed gives the same batches, run to run
and after a resume.

On CPU this beats packing several examples into one row: sdpa keeps examples apart there with a
block mask over the whole row, so attention costs grow with the square of the packed row instead
of each example's length.
"""

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler

WINDOW_BATCHES = 64  # batches sorted together: wider windows pad less, narrower ones mix more


class LengthBuckets(Sampler[int]):
    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int):
        self.lengths = list(lengths)
        self.batch_size = max(1, batch_size)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer before each epoch: each epoch has its own (reproducible) order."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(self.order())

    def order(self) -> list[int]:
        """The epoch's example indices, batch after batch."""
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        shuffled = torch.randperm(len(self.lengths), generator=generator).tolist()
        window = self.batch_size * WINDOW_BATCHES
        ranked: list[int] = []
        for start in range(0, len(shuffled), window):
            ranked += sorted(shuffled[start : start + window], key=lambda i: -self.lengths[i])
        batches = [ranked[i : i + self.batch_size] for i in range(0, len(ranked), self.batch_size)]
        short = [batches.pop()] if batches and len(batches[-1]) < self.batch_size else []
        mixed = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
        return [index for batch in mixed + short for index in batch]

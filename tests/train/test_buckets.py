"""Length buckets: every example once an epoch, batches of about one length, the same for a seed."""

import random

import pytest

pytest.importorskip("torch")

from openft.train.buckets import LengthBuckets

RNG = random.Random(3)
LENGTHS = [RNG.randint(5, 2000) for _ in range(203)]


def batches(sampler: LengthBuckets, size: int = 8) -> list[list[int]]:
    order = list(sampler)
    return [order[i : i + size] for i in range(0, len(order), size)]


def padded(lengths, groups) -> int:
    return sum(max(lengths[i] for i in group) * len(group) for group in groups)


def test_each_epoch_draws_every_example_once():
    sampler = LengthBuckets(LENGTHS, batch_size=8, seed=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        assert sorted(sampler) == list(range(len(LENGTHS))) and len(sampler) == len(LENGTHS)


def test_batches_pad_little_and_the_short_batch_comes_last():
    groups = batches(LengthBuckets(LENGTHS, batch_size=8, seed=1))
    shuffled = list(range(len(LENGTHS)))
    random.Random(1).shuffle(shuffled)
    at_random = [shuffled[i : i + 8] for i in range(0, len(shuffled), 8)]
    assert padded(LENGTHS, groups) < 1.1 * sum(LENGTHS) < padded(LENGTHS, at_random)
    assert [len(group) for group in groups] == [8] * 25 + [3]


def test_the_same_seed_and_epoch_give_the_same_batches_and_epochs_differ():
    first, again = LengthBuckets(LENGTHS, batch_size=8, seed=5), LengthBuckets(LENGTHS, batch_size=8, seed=5)
    assert list(first) == list(again)
    second = list(first)
    first.set_epoch(1)
    assert list(first) != second
    assert list(LengthBuckets(LENGTHS, batch_size=8, seed=6)) != second

"""openft.heap: what survives a settle is left out of later full collections, and a frozen cycle
that dies is collected by the next settle."""

from __future__ import annotations

import gc
import weakref

import pytest

from openft import heap
from support.collector import in_collected_generations

pytestmark = pytest.mark.usefixtures("unfrozen_heap")


class Node:
    def __init__(self):
        self.peer: Node | None = None


def a_cycle() -> tuple[Node, weakref.ref]:
    node = Node()
    node.peer = Node()
    node.peer.peer = node
    return node, weakref.ref(node)


def test_what_survives_a_settle_is_out_of_the_collected_generations():
    survivor, _ = a_cycle()
    assert in_collected_generations(survivor)
    heap.settle()
    assert not in_collected_generations(survivor)
    assert gc.get_freeze_count() > 0


def test_a_settle_collects_dead_cycles_frozen_ones_included():
    dead, dead_ref = a_cycle()
    frozen, frozen_ref = a_cycle()
    del dead
    heap.settle()
    assert dead_ref() is None and frozen_ref() is frozen
    del frozen
    gc.collect()
    assert frozen_ref() is not None  # a plain collection skips frozen objects
    heap.settle()
    assert frozen_ref() is None

"""What the garbage collector looks at: whether an object is in its collected generations (not
frozen), and how many full passes it ran during an action."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def in_collected_generations(thing: object) -> bool:
    return any(other is thing for generation in range(3) for other in gc.get_objects(generation))


def full_passes(action: Callable[[], T]) -> tuple[int, T]:
    """The full passes (generation 2) during ``action``, with automatic collection off meanwhile,
    so that only the passes the action asks for are counted; and what it returned."""
    passes = []

    def count(phase: str, info: dict) -> None:
        if phase == "start" and info["generation"] == 2:
            passes.append(info)

    enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(count)
    try:
        result = action()
    finally:
        gc.callbacks.remove(count)
        if enabled:
            gc.enable()
    return len(passes), result

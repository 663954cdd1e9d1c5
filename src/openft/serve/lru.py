"""PinnedLRU: loaded things kept up to a capacity, least recently used evicted first.

Entries in use are pinned (``acquire`` … ``release``) and never evicted; when every entry is
pinned the cache holds more than its capacity until some are released. Not thread-safe: only
the engine's thread uses it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PinnedLRU(Generic[K, V]):
    def __init__(self, capacity: int, evict: Callable[[K, V], None]):
        self.capacity = max(1, capacity)
        self._evict = evict
        self._entries: OrderedDict[K, V] = OrderedDict()
        self._pins: dict[K, int] = {}

    def acquire(self, key: K, load: Callable[[], V]) -> V:
        """The entry for ``key`` (loaded if absent), pinned until ``release(key)``."""
        if key in self._entries:
            self._entries.move_to_end(key)
        else:
            self._entries[key] = load()
        self._pins[key] = self._pins.get(key, 0) + 1
        self._shrink()
        return self._entries[key]

    def release(self, key: K) -> None:
        self._pins[key] -= 1
        if not self._pins[key]:
            del self._pins[key]
        self._shrink()

    def keys(self) -> list[K]:
        """Loaded keys, least recently used first."""
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def _shrink(self) -> None:
        for key in list(self._entries):
            if len(self._entries) <= self.capacity:
                return
            if key not in self._pins:
                self._evict(key, self._entries.pop(key))

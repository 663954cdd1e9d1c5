"""PinnedLRU: loaded things kept up to a capacity, least recently used evicted first.

Entries in use are pinned (``acquire`` … ``release``) and never evicted; when every entry is
pinned the cache holds more than its capacity until some are released. Not thread-safe: only
the engine's thread uses it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any


class PinnedLRU:
    def __init__(self, capacity: int, evict: Callable[[Hashable, Any], None]):
        self.capacity = max(1, capacity)
        self._evict = evict
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._pins: dict[Hashable, int] = {}

    def acquire(self, key: Hashable, load: Callable[[], Any]) -> Any:
        """The entry for ``key`` (loaded if absent), pinned until ``release(key)``."""
        if key in self._entries:
            self._entries.move_to_end(key)
        else:
            self._entries[key] = load()
        self._pins[key] = self._pins.get(key, 0) + 1
        self._shrink()
        return self._entries[key]

    def release(self, key: Hashable) -> None:
        self._pins[key] -= 1
        if not self._pins[key]:
            del self._pins[key]
        self._shrink()

    def keys(self) -> list[Hashable]:
        """Loaded keys, least recently used first."""
        return list(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def _shrink(self) -> None:
        for key in list(self._entries):
            if len(self._entries) <= self.capacity:
                return
            if key not in self._pins:
                self._evict(key, self._entries.pop(key))

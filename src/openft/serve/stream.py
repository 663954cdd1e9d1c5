"""Stream: one job's events, handed from the engine's thread to an asyncio task or a plain thread.

The API consumes with ``async for`` (events cross threads with ``call_soon_threadsafe``); benches
and tests may iterate synchronously. ``cancel`` tells the engine nobody listens any more, and
the engine drops the job's sequences at its next step.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterator

from openft.serve.generation import Completed, Event, Failed

FINAL = (Completed, Failed)


class Stream:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None):
        self._loop = loop
        self._async: asyncio.Queue[Event] | None = asyncio.Queue() if loop else None
        self._sync: queue.Queue[Event] | None = None if loop else queue.Queue()
        self._cancelled = threading.Event()

    def emit(self, event: Event) -> None:
        """Called from the engine's thread."""
        if self._loop is None or self._async is None:
            self._sync_queue().put(event)
            return
        try:
            self._loop.call_soon_threadsafe(self._async.put_nowait, event)
        except RuntimeError:  # the event loop is closed: nobody is listening
            self._cancelled.set()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    async def next(self) -> Event:
        if self._async is None:
            raise RuntimeError("this stream has no event loop: read it with get() or a plain for loop")
        return await self._async.get()

    def get(self, timeout: float | None = None) -> Event:
        return self._sync_queue().get(timeout=timeout)

    def _sync_queue(self) -> queue.Queue[Event]:
        if self._sync is None:
            raise RuntimeError("this stream has an event loop: read it with next() or async for")
        return self._sync

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self.next()
            yield event
            if isinstance(event, FINAL):
                return

    def __iter__(self) -> Iterator[Event]:
        while True:
            event = self.get()
            yield event
            if isinstance(event, FINAL):
                return

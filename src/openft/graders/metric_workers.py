"""text_similarity's metrics in worker processes that a deadline or a departed client can stop.

The metrics are pure Python or C code that cannot be interrupted (rouge_l is quadratic in the
words), so they run in `python -m openft.graders.metric_workers` children, one request at a
time each over a pipe of JSON lines: the server waits for the answer until the grading's
deadline, or until its `cancel` event (the HTTP client went away), then kills the worker with
SIGKILL, which really stops the CPU work and frees its memory, and reports
`unresponsive_reward_error`; the next request starts a fresh worker. Workers are kept between
requests (the metric libraries load once per worker, and a new worker's start is not counted in
the deadline), at most `size` at once, each limited to `memory_bytes` of address space; a
worker's MemoryError or crash is an `other_error`.
`cosine` stays in the server: its model truncates every input to 256 word pieces.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import selectors
import subprocess
import sys
import threading
import time
from pathlib import Path

from openft.graders.result import GraderFailure

__all__ = ["MetricWorkers", "shared_workers"]

log = logging.getLogger("openft.graders")
POLL_SECONDS = 0.1
STARTUP_SECONDS = 120.0  # a new worker's start (the metric libraries' import), not counted in deadlines
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding the openft package


class _Worker:
    def __init__(self, memory_bytes: int):
        path = os.pathsep.join(p for p in (_SOURCE_ROOT, os.environ.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "openft.graders.metric_workers", str(memory_bytes)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            close_fds=True,
        )
        self.buffer = b""

    def ready(self, cancel: threading.Event | None) -> float:
        """Wait for the new worker's libraries to load; the seconds it took."""
        start = time.monotonic()
        if self._line(start + STARTUP_SECONDS, cancel) != {"ready": True}:
            raise GraderFailure("other_error", "the metric worker did not start")
        return time.monotonic() - start

    def ask(self, request: dict, deadline: float, cancel: threading.Event | None) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        return self._line(deadline, cancel)

    def _line(self, deadline: float, cancel: threading.Event | None) -> dict:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            while b"\n" not in self.buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (cancel is not None and cancel.is_set()):
                    raise GraderFailure("unresponsive_reward_error")
                if selector.select(min(remaining, POLL_SECONDS)):
                    chunk = os.read(self.proc.stdout.fileno(), 65536)
                    if not chunk:
                        raise GraderFailure("other_error", "the metric worker exited")
                    self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


class MetricWorkers:
    """A small pool of metric worker processes (started on demand, reused, killed when late)."""

    def __init__(self, size: int = 4, memory_bytes: int = 2 * 1024**3):
        self.memory_bytes = memory_bytes
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []

    def score(
        self,
        metric: str,
        text: str,
        reference: str,
        *,
        deadline: float,
        cancel: threading.Event | None = None,
    ) -> float:
        """The metric's score, computed in a worker before `deadline` (time.monotonic())."""
        request = {"metric": metric, "text": text, "reference": reference}
        with self._slots:
            worker, new = self._take()
            try:
                if new:
                    deadline += worker.ready(cancel)
                answer = worker.ask(request, deadline, cancel)
            except BaseException:
                worker.kill()
                raise
            with self._lock:
                self._idle.append(worker)
        if "error" in answer:
            log.error("text_similarity %s failed: %s", metric, answer["error"])
            raise GraderFailure("other_error", answer["error"])
        return float(answer["score"])

    def _take(self) -> tuple[_Worker, bool]:
        """An idle worker still alive, or a new one (True)."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.proc.poll() is None:
                    return worker, False
        return _Worker(self.memory_bytes), True

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


_shared: MetricWorkers | None = None
_shared_lock = threading.Lock()


def shared_workers() -> MetricWorkers:
    """The process's default pool (for contexts built without settings)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = MetricWorkers()
        return _shared


def _serve(memory_bytes: int) -> None:
    """The worker's loop: one JSON request per line on stdin, one answer per line on stdout."""
    import rouge_score.rouge_scorer  # noqa: F401 (the metric libraries, loaded before the first request)

    from openft.graders.text_metrics import similarity

    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    sys.stdout.buffer.write(b'{"ready": true}\n')
    sys.stdout.buffer.flush()
    for line in sys.stdin.buffer:
        request = json.loads(line)
        try:
            answer: dict = {"score": similarity(request["metric"], request["text"], request["reference"])}
        except MemoryError:
            answer = {"error": "the metric ran out of memory"}
        except Exception as exc:  # reported to the server as other_error
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.buffer.write(json.dumps(answer).encode() + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))

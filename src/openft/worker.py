"""A worker: claims queued jobs, runs each in its own ``python -m openft.train JOB_ID`` process,
heartbeats them, stops them when they are cancelled or paused, and reaps them.

The trainer reads its job's status between steps and stops by itself; the worker only signals a
process that has not stopped ``stop_grace_seconds`` after the job left ``running``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

from openft import queue
from openft.config import SETTINGS_ENV, Settings
from openft.storage import Storage
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.transitions import RUNNING, TransitionRefused

log = logging.getLogger("openft.worker")


@dataclass
class Child:
    job_id: str
    process: subprocess.Popen
    stop_seen_at: float | None = None
    signals: list[int] = field(default_factory=list)


class Worker:
    def __init__(self, settings: Settings, db: Database, storage: Storage, *, worker_id: str | None = None):
        self.settings, self.db, self.storage = settings, db, storage
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.children: dict[str, Child] = {}
        self._last_heartbeat = 0.0

    def step(self) -> None:
        queue.sweep_stalled(self.db, stale_after=self.settings.stale_after_seconds)
        self._reap()
        self._enforce_stops()
        self._heartbeat()
        while len(self.children) < self.settings.max_concurrent_jobs:
            job = queue.claim(self.db, worker_id=self.worker_id)
            if job is None:
                break
            self._spawn(job.id)

    def run(self, stop: threading.Event) -> None:
        log.info(
            "worker %s started (max %d concurrent jobs)", self.worker_id, self.settings.max_concurrent_jobs
        )
        while not stop.is_set():
            try:
                self.step()
            except Exception:
                log.exception("worker step failed")
            stop.wait(self.settings.worker_poll_seconds)
        self.shutdown()

    def _spawn(self, job_id: str) -> None:
        env = {**os.environ, SETTINGS_ENV: self.settings.for_training_process(self.storage.root, self.db.url)}
        job_dir = self.storage.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        with open(job_dir / "train.log", "ab") as logfile:
            process = subprocess.Popen(
                [sys.executable, "-m", "openft.train", job_id],
                env=env,
                stdout=logfile,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.children[job_id] = Child(job_id, process)
        log.info("job %s: training process %d started", job_id, process.pid)

    def _statuses(self) -> dict[str, str]:
        with self.db.read() as session:
            return {job_id: job_store.require_job(session, job_id=job_id).status for job_id in self.children}

    def _enforce_stops(self) -> None:
        if not self.children:
            return
        grace = self.settings.stop_grace_seconds
        for job_id, status in self._statuses().items():
            child = self.children[job_id]
            if status == RUNNING:
                continue
            child.stop_seen_at = child.stop_seen_at or time.monotonic()
            waited = time.monotonic() - child.stop_seen_at
            wanted = signal.SIGKILL if waited > 2 * grace else signal.SIGTERM if waited > grace else None
            if wanted is not None and wanted not in child.signals:
                log.warning(
                    "job %s is %s but its trainer is still running: sending %s", job_id, status, wanted.name
                )
                child.signals.append(wanted)
                _signal_group(child.process, wanted)

    def _heartbeat(self) -> None:
        if time.monotonic() - self._last_heartbeat >= self.settings.heartbeat_seconds:
            queue.heartbeat(self.db, job_ids=list(self.children), worker_id=self.worker_id)
            self._last_heartbeat = time.monotonic()

    def _reap(self) -> None:
        for job_id, child in list(self.children.items()):
            code = child.process.poll()
            if code is None:
                continue
            del self.children[job_id]
            log.info("job %s: training process exited with %s", job_id, code)
            self._fail_if_abandoned(job_id, code)

    def _fail_if_abandoned(self, job_id: str, code: int) -> None:
        """A trainer that died without recording an outcome (killed, out of memory) fails its job."""
        with self.db.write() as session:
            job = job_store.require_job(session, job_id=job_id)
            if job.status != RUNNING:
                return
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            message = f"The training process {how} before the job finished. See the server log for details."
            with contextlib.suppress(TransitionRefused):
                lifecycle.fail(session, job=job, code="training_process_died", message=message)

    def shutdown(self) -> None:
        """Stop our trainers; their jobs go back to the queue for another worker (or our restart)."""
        for child in self.children.values():
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + self.settings.stop_grace_seconds
        for child in self.children.values():
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
        for job_id in list(self.children):
            with self.db.write() as session:
                job = job_store.require_job(session, job_id=job_id)
                with contextlib.suppress(TransitionRefused):
                    lifecycle.requeue(session, job=job, reason="The worker shut down")
        self.children.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


class WorkerThread:
    """The worker embedded in `openft serve`."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=worker.run, args=(self._stop,), name="openft-worker", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

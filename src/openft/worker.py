"""A worker: claims queued jobs, runs each in its own training process (``python -m openft.train``,
started for the job or ahead of it: trainers.py), heartbeats them, stops them when they are
cancelled or paused, and reaps them.

The trainer reads its job's status between steps and stops by itself; the worker only signals a
process that has not stopped ``stop_grace_seconds`` after the job left ``running``, and kills at
once one whose job was started again elsewhere (its claim is lost). A trainer dies with its worker
(train/lifeline.py). One whose process died puts its job back in the queue to continue from its
latest saved state (``queue.recover``). On shutdown the worker stops claiming, asks its trainers
to save their state (SIGTERM), kills those that have not within ``shutdown_grace_seconds`` (at
once when hurried: a second signal), and puts their jobs back in the queue.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field

from openft import queue
from openft.config import Settings
from openft.storage import Storage
from openft.store import jobs as job_store
from openft.store import lifecycle
from openft.store.db import Database
from openft.store.transitions import RUNNING, TransitionRefused
from openft.train.lifeline import SUSPENDED
from openft.trainers import Trainers

log = logging.getLogger("openft.worker")


@dataclass
class Child:
    job_id: str
    attempt: int  # the job's attempts when this worker claimed it: the claim the trainer writes under
    process: subprocess.Popen
    stop_seen_at: float | None = None
    signals: list[int] = field(default_factory=list)


class Worker:
    def __init__(self, settings: Settings, db: Database, storage: Storage, *, worker_id: str | None = None):
        self.settings, self.db, self.storage = settings, db, storage
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.children: dict[str, Child] = {}
        self.claiming = True
        self._last_heartbeat = 0.0
        self._hurry = threading.Event()
        self.trainers = Trainers(settings, storage, db.url)

    def step(self) -> None:
        queue.sweep_stalled(self.db, stale_after=self.settings.stale_after_seconds)
        self._reap()
        self._enforce_stops()
        self._heartbeat()
        while self.claiming and len(self.children) < self.settings.max_concurrent_jobs:
            job = queue.claim(self.db, worker_id=self.worker_id)
            if job is None:
                break
            self._spawn(job.id, job.attempts)
        if self.claiming:
            self.trainers.keep_ready(training=bool(self.children))

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

    def _spawn(self, job_id: str, attempt: int) -> None:
        process = self.trainers.start(job_id, attempt)
        self.children[job_id] = Child(job_id, attempt, process)
        log.info("job %s: training process %d started (attempt %d)", job_id, process.pid, attempt)

    def _claims(self) -> dict[str, tuple[str, int]]:
        """(status, attempts) of each child's job."""
        with self.db.read() as session:
            jobs = {job_id: job_store.require_job(session, job_id=job_id) for job_id in self.children}
        return {job_id: (job.status, job.attempts) for job_id, job in jobs.items()}

    def _enforce_stops(self) -> None:
        if not self.children:
            return
        grace = self.settings.stop_grace_seconds
        for job_id, (status, attempts) in self._claims().items():
            child = self.children[job_id]
            if attempts != child.attempt:
                wanted: signal.Signals | None = signal.SIGKILL  # another start owns the job now
            elif status == RUNNING:
                continue
            else:
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
            self._settle(child, code)

    def _settle(self, child: Child, code: int, *, shutting_down: bool = False) -> None:
        """A trainer exited while its job was still running under its claim: the job goes back to
        the queue (it saved its state, or the worker shut down), or is recovered (it died)."""
        with self.db.write() as session:
            job = job_store.require_job(session, job_id=child.job_id)
            if job.status != RUNNING or job.attempts != child.attempt:
                return  # it recorded its outcome, or was stopped, or another start owns it
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            with contextlib.suppress(TransitionRefused):
                if shutting_down or code == SUSPENDED:
                    lifecycle.requeue(
                        session,
                        job=job,
                        reason=_requeue_reason(how, code, shutting_down),
                        attempt=child.attempt,
                    )
                else:
                    lost = f"The training process {how} before the job finished"
                    queue.recover(
                        session, job=job, lost=lost, code="training_process_died", attempt=child.attempt
                    )

    def hurry(self) -> None:
        """Make a shutdown (under way or to come) kill the trainers now instead of waiting."""
        self._hurry.set()
        for child in list(self.children.values()):
            _signal_group(child.process, signal.SIGKILL)

    def shutdown(self) -> None:
        """Stop claiming; each trainer saves its state and stops, or is killed after the grace; their
        jobs go back to the queue for another worker (or our restart)."""
        self.claiming = False
        self.trainers.close()
        for child in self.children.values():
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)  # the trainer only: its helpers go on
        deadline = time.monotonic() + self.settings.shutdown_grace_seconds
        while self._running() and time.monotonic() < deadline and not self._hurry.is_set():
            with contextlib.suppress(Exception):
                self._heartbeat()
            self._hurry.wait(0.1)
        for child in self.children.values():
            if child.process.poll() is None:
                _signal_group(child.process, signal.SIGKILL)
            code = child.process.wait()
            try:
                self._settle(child, code, shutting_down=True)
            except Exception:  # the database is unreachable: the sweep requeues the job later
                log.exception("job %s: could not put it back in the queue", child.job_id)
        self.children.clear()

    def _running(self) -> bool:
        return any(child.process.poll() is None for child in self.children.values())


def _requeue_reason(how: str, code: int, shutting_down: bool) -> str:
    """Why a job whose trainer stopped without a crash goes back to the queue."""
    saved = "saved its state" if code == SUSPENDED else how
    if shutting_down:
        return f"The worker shut down (its training process {saved})"
    return f"The training process was asked to stop (SIGTERM) and {saved}"


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
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

    def begin_stop(self) -> None:
        """Start shutting down (stop claiming, trainers save their state) without waiting."""
        self._stop.set()

    def hurry(self) -> None:
        self.worker.hurry()
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.worker.settings.shutdown_grace_seconds + 30)

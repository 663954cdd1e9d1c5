"""Lifeline: what ties a training process to the worker that started it, and how it is asked to stop.

A training process never outlives its worker. On Linux the kernel kills it when the worker
thread that started it dies (``PR_SET_PDEATHSIG``); everywhere a watchdog thread kills it as
soon as its parent process is no longer the worker (it was re-parented). Either way it dies
with SIGKILL: once the worker is gone it must not write anything more, and the job resumes
from its latest saved state wherever it is started next.

SIGTERM (from a worker shutting down, or anyone) asks the trainer to save its training state
at the end of the current step and exit with SUSPENDED; a second SIGTERM kills it at once. The
worker puts a job whose trainer exited SUSPENDED back in the queue, without counting a crash.

Pure Python: the worker imports SUSPENDED and WORKER_PID_ENV from here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys
import threading

SUSPENDED = 75  # EX_TEMPFAIL: the trainer saved its state on SIGTERM and stopped; start it again
WORKER_PID_ENV = "OPENFT_WORKER_PID"  # the worker's pid, for the training process to watch
PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 1.0

log = logging.getLogger("openft.train")


def bind_to_worker(environ: dict[str, str] | None = None) -> None:
    """Die (SIGKILL) with the worker named in ``OPENFT_WORKER_PID``; nothing when it is unset
    (a training process run by hand)."""
    value = (os.environ if environ is None else environ).get(WORKER_PID_ENV)
    if not value:
        return
    worker_pid = int(value)
    _set_parent_death_signal()
    if os.getppid() != worker_pid:  # the worker died before the signal was armed
        os._exit(1)
    watchdog = threading.Thread(target=_watch, args=(worker_pid,), name="openft-lifeline", daemon=True)
    watchdog.start()


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        log.warning("PR_SET_PDEATHSIG failed (errno %d); relying on the watchdog", ctypes.get_errno())


def _watch(worker_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(WATCH_SECONDS):
        if os.getppid() != worker_pid:
            log.error("the worker (pid %d) is gone; the training process stops now", worker_pid)
            os.kill(os.getpid(), signal.SIGKILL)


class StopRequest:
    """Set by the first SIGTERM; the trainer reads it between steps (JobProgress.should_stop)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def is_set(self) -> bool:
        return self._event.is_set()

    def install(self) -> StopRequest:
        """Handle SIGTERM in this (main) thread: the first sets the request, the next kills."""
        signal.signal(signal.SIGTERM, self._on_sigterm)
        return self

    def _on_sigterm(self, signum: int, _frame: object) -> None:
        if self._event.is_set():
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        log.info("SIGTERM: saving the training state after this step, then stopping")
        self._event.set()

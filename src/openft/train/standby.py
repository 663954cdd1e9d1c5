"""A standby trainer (``python -m openft.train --standby``): a training process its worker starts
ahead of any job (trainers.py). It imports every method's ML stack, writes one byte to the pipe
named by ``OPENFT_STANDBY_READY_FD`` to say it is ready, then waits on stdin for the one job it
will run: ``{"job_id", "attempt", "log"}`` on one line. From then on it writes to that job's log
and runs the job as a process started for it does. At the end of its stdin (the worker stopped
it before any job came) it exits.

The imports run in a thread of their own under SCHED_IDLE: they take the CPU time no one else
wants, so the job that just left a standby (and started this one in its place) trains at full
speed while its successor gets ready. Threads keep their own scheduling policy, so the main
thread, which runs the job, and every thread it starts run normally. A thread the imports
started stays idle-class; the ML stack starts its compute threads on first use, not on import.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import threading

READY_FD_ENV = "OPENFT_STANDBY_READY_FD"


def wait_for_job() -> tuple[str, int] | None:
    """(job id, attempt) of the job to run, once the stack is imported; None when none will come."""
    _import_in_idle_time()
    _say_ready()
    line = sys.stdin.readline()
    if not line.strip():
        return None
    order = json.loads(line)
    _write_to(order["log"])
    return order["job_id"], int(order["attempt"])


def _import_in_idle_time() -> None:
    failed: list[BaseException] = []

    def imports() -> None:
        with contextlib.suppress(AttributeError, OSError):  # not Linux: at the normal priority
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # 0: this thread
        try:
            from openft.train.job import RECIPES

            for module, _ in RECIPES.values():
                importlib.import_module(module)
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=imports, name="standby-imports")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]


def _say_ready() -> None:
    fd = os.environ.pop(READY_FD_ENV, None)
    if fd is None:
        return
    try:
        os.write(int(fd), b"1")
        os.close(int(fd))
    except (OSError, ValueError):  # the worker is gone: stdin will end too
        pass


def _write_to(path: str) -> None:
    """Send this process's stdout and stderr (its logging included) to the job's log."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, sys.stdout.fileno())
    os.dup2(fd, sys.stderr.fileno())
    os.close(fd)

"""A standby trainer (``python -m openft.train --standby``): a training process its worker starts
ahead of any job (trainers.py). It imports every method's ML stack, then waits on stdin for the one
job it will run: ``{"job_id", "attempt", "log"}`` on one line. From then on it writes to that job's
log and runs the job as a process started for it does. At the end of its stdin (the worker stopped
it before any job came) it exits."""

from __future__ import annotations

import importlib
import json
import os
import sys

from openft.train.job import RECIPES


def wait_for_job() -> tuple[str, int] | None:
    """(job id, attempt) of the job to run, once the stack is imported; None when none will come."""
    for module, _ in RECIPES.values():
        importlib.import_module(module)
    line = sys.stdin.readline()
    if not line.strip():
        return None
    order = json.loads(line)
    _write_to(order["log"])
    return order["job_id"], int(order["attempt"])


def _write_to(path: str) -> None:
    """Send this process's stdout and stderr (its logging included) to the job's log."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, sys.stdout.fileno())
    os.dup2(fd, sys.stderr.fileno())
    os.close(fd)

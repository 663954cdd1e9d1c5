"""Trainers: how a worker starts the training process of a job, one process per job.

A process started for a job (``python -m openft.train JOB_ID ATTEMPT``) first pays for importing
the ML stack (torch, transformers, PEFT, TRL: seconds on a CPU). So the worker keeps a *standby*
trainer, ``settings.standby_trainers`` of them (one by default, 0 for none): a training process
started ahead (``python -m openft.train --standby``) that imports the stack and then waits for a
job on its stdin. A claimed job goes to a standby when there is one alive, which then writes to
the job's ``train.log`` and runs it exactly as a process started for it would; a new standby is
started in its place. Every job still has a process of its own, used once: a crash or a kill takes
one job down, never the worker, and the GPU memory of a job is released when it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from openft.config import SETTINGS_ENV, Settings
from openft.storage import Storage
from openft.train.lifeline import WORKER_PID_ENV

log = logging.getLogger("openft.worker")
TRAIN_LOG = "train.log"  # in the job's dir: what its training process printed
STANDBY_LOG = "standby.log"  # in the data dir's logs/: what standby trainers printed before their job
RESTART_BACKOFF_SECONDS = 60.0  # a standby that died young is not started again before this


class Trainers:
    """The training processes of one worker: started for a job, or a standby handed the job."""

    def __init__(self, settings: Settings, storage: Storage, database_url: str):
        self.settings, self.storage = settings, storage
        self.env = {
            **os.environ,
            SETTINGS_ENV: settings.for_training_process(storage.root, database_url),
            WORKER_PID_ENV: str(os.getpid()),
        }
        self.standby: list[tuple[subprocess.Popen, float]] = []  # (process, when it was started)
        self._not_before = 0.0

    def start(self, job_id: str, attempt: int) -> subprocess.Popen:
        """The training process of this start of the job: a standby's, or one started for it."""
        job_dir = self.storage.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        while self.standby:
            process, _ = self.standby.pop(0)
            if self._hand_over(process, job_id, attempt, job_dir / TRAIN_LOG):
                return process
        with open(job_dir / TRAIN_LOG, "ab") as logfile:
            return self._popen([job_id, str(attempt)], logfile, stdin=subprocess.DEVNULL)

    def keep_ready(self) -> None:
        """Start standby trainers up to the setting; one that died is replaced (after a pause when it
        died young, so a stack that cannot import is not started again and again)."""
        for process, started in list(self.standby):
            if process.poll() is not None:
                self.standby.remove((process, started))
                log.warning("a standby trainer exited with %s (see logs/%s)", process.returncode, STANDBY_LOG)
                if time.monotonic() - started < RESTART_BACKOFF_SECONDS:
                    self._not_before = time.monotonic() + RESTART_BACKOFF_SECONDS
        while len(self.standby) < self.settings.standby_trainers and time.monotonic() >= self._not_before:
            logs = self.storage.root / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            with open(logs / STANDBY_LOG, "ab") as logfile:
                process = self._popen(["--standby"], logfile, stdin=subprocess.PIPE)
            self.standby.append((process, time.monotonic()))

    def close(self) -> None:
        """Stop the standby trainers (they hold no job)."""
        for process, _ in self.standby:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            process.wait()
        self.standby.clear()

    def _popen(self, arguments: list[str], logfile, *, stdin) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "openft.train", *arguments],
            env=self.env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=stdin,
            start_new_session=True,  # its own process group: the worker signals the trainer and its helpers
        )

    @staticmethod
    def _hand_over(process: subprocess.Popen, job_id: str, attempt: int, logfile: Path) -> bool:
        """Give the job to a standby trainer; False when it is gone."""
        if process.poll() is not None or process.stdin is None:
            return False
        order = {"job_id": job_id, "attempt": attempt, "log": str(logfile)}
        try:
            process.stdin.write((json.dumps(order) + "\n").encode())
            process.stdin.close()
        except (BrokenPipeError, OSError):
            process.wait()
            return False
        return True

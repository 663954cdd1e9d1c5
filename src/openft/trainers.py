"""Trainers: how a worker starts the training process of a job, one process per job.

A process started for a job (``python -m openft.train JOB_ID ATTEMPT``) first pays for importing
the ML stack (torch, transformers, PEFT, TRL: seconds on a CPU). So the worker keeps a *standby*
trainer, ``settings.standby_trainers`` of them (one by default, 0 for none): a training process
started ahead (``python -m openft.train --standby``) that imports the stack and then waits for a
job on its stdin, and says on a pipe when it is ready. A claimed job goes to a ready standby when
there is one, which then writes to the job's ``train.log`` and runs it exactly as a process
started for it would. With none ready, the job gets a process of its own at once rather than wait
for an import still under way. A new standby is started once the worker trains nothing: on a CPU,
importing the stack next to a training job (seconds of CPU) slowed its steps twice over
(bench/results/job_startup_cpu.txt), even with the import in the machine's idle time (SCHED_IDLE,
standby.py), which keeps it from slowing anything else, such as the API.
Every job still has a process of its own, used once: a crash or a kill takes one job down, never
the worker, and the GPU memory of a job is released when it ends.

Training processes run with glibc's malloc keeping large blocks in its heap (``training_env``).
By default it hands every block above its mmap threshold (at most 32 MB) back to the kernel when
it is freed, and a training step frees and allocates hundreds of MB of activations and logits, so
each step page-faulted and zeroed them afresh. Measured on SFT, 2-core AMD EPYC, bfloat16, four
runs each, alternated: 341 against 304 train tokens/s (1.12x), peak RSS +6%
(bench/results/sft_throughput_cpu.txt). A ``GLIBC_TUNABLES`` of the user's own is kept instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from openft.config import SETTINGS_ENV, Settings
from openft.storage import Storage
from openft.train.lifeline import WORKER_PID_ENV
from openft.train.standby import READY_FD_ENV

log = logging.getLogger("openft.worker")
TRAIN_LOG = "train.log"  # in the job's dir: what its training process printed
STANDBY_LOG = "standby.log"  # in the data dir's logs/: what standby trainers printed before their job
RESTART_BACKOFF_SECONDS = 60.0  # a standby that died young is not started again before this
MALLOC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def training_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of a training process started from ``environ`` (see the module's text)."""
    return {"GLIBC_TUNABLES": MALLOC_TUNABLES, **environ}


@dataclass
class Standby:
    """A standby trainer, and the read end of the pipe it writes one byte to once it is ready."""

    process: subprocess.Popen
    started: float
    ready_pipe: int
    ready: bool = False

    def is_ready(self) -> bool:
        if self.ready:
            return True
        try:
            self.ready = os.read(self.ready_pipe, 1) != b""  # b"": it died before it was ready
        except OSError:  # BlockingIOError: nothing written yet (the pipe does not block)
            return False
        if self.ready:
            log.info(
                "standby trainer %d is ready (%.1f s after its start)",
                self.process.pid,
                time.monotonic() - self.started,
            )
        return self.ready

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.ready_pipe)


class Trainers:
    """The training processes of one worker: started for a job, or a standby handed the job."""

    def __init__(self, settings: Settings, storage: Storage, database_url: str):
        self.settings, self.storage = settings, storage
        self.env = {
            **training_env(os.environ),
            SETTINGS_ENV: settings.for_training_process(storage.root, database_url),
            WORKER_PID_ENV: str(os.getpid()),
        }
        self.standby: list[Standby] = []
        self._not_before = 0.0

    def start(self, job_id: str, attempt: int) -> subprocess.Popen:
        """The training process of this start of the job: a ready standby's, or one started for it."""
        job_dir = self.storage.job_dir(job_id)
        job_dir.mkdir(parents=True, exist_ok=True)
        while ready := next((standby for standby in self.standby if standby.is_ready()), None):
            self.standby.remove(ready)
            ready.close()
            if self._hand_over(ready.process, job_id, attempt, job_dir / TRAIN_LOG):
                return ready.process
        with open(job_dir / TRAIN_LOG, "ab") as logfile:
            return self._popen([job_id, str(attempt)], logfile, stdin=subprocess.DEVNULL)

    def keep_ready(self, *, training: bool) -> None:
        """Start standby trainers up to the setting unless a job of this worker is ``training``; one
        that died is replaced (after a pause when it died young, so a stack that cannot import is not
        started again and again)."""
        for standby in list(self.standby):
            if standby.process.poll() is not None:
                self.standby.remove(standby)
                standby.close()
                code = standby.process.returncode
                log.warning("a standby trainer exited with %s (see logs/%s)", code, STANDBY_LOG)
                if time.monotonic() - standby.started < RESTART_BACKOFF_SECONDS:
                    self._not_before = time.monotonic() + RESTART_BACKOFF_SECONDS
            else:
                standby.is_ready()  # logged when it becomes ready
        if training:
            return
        while len(self.standby) < self.settings.standby_trainers and time.monotonic() >= self._not_before:
            self.standby.append(self._start_standby())

    def close(self) -> None:
        """Stop the standby trainers (they hold no job)."""
        for standby in self.standby:
            with contextlib.suppress(ProcessLookupError):
                standby.process.kill()
            standby.process.wait()
            standby.close()
        self.standby.clear()

    def _start_standby(self) -> Standby:
        logs = self.storage.root / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        ready_pipe, ready_end = os.pipe()
        os.set_blocking(ready_pipe, False)
        try:
            with open(logs / STANDBY_LOG, "ab") as logfile:
                process = self._popen(
                    ["--standby"],
                    logfile,
                    stdin=subprocess.PIPE,
                    env={**self.env, READY_FD_ENV: str(ready_end)},
                    pass_fds=(ready_end,),
                )
        except BaseException:
            os.close(ready_pipe)
            raise
        finally:
            os.close(ready_end)
        return Standby(process, time.monotonic(), ready_pipe)

    def _popen(
        self, arguments: list[str], logfile, *, stdin, env: dict | None = None, pass_fds: tuple[int, ...] = ()
    ) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "openft.train", *arguments],
            env=env or self.env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=stdin,
            pass_fds=pass_fds,
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

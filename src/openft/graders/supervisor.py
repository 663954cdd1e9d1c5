"""Runs one command with a wall-clock limit and capped output, then kills its process group.

The child starts in a new session (its own process group). Its stdin is written and its
stdout and stderr are read without blocking; whichever comes first of the end of both
streams, the deadline, more output than allowed, or the caller's `cancel` event (its client went
away) ends the run, and the whole group is killed with SIGKILL (a sandboxed grader cannot leave
its group: the sandboxes refuse new sessions and processes outlive neither bwrap's PID namespace
nor the process mode's refused fork).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

__all__ = ["Exit", "supervise"]

CHUNK = 65536
CANCEL_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class Exit:
    returncode: int | None  # negative: killed by that signal
    stdout: bytes
    stderr: bytes
    timed_out: bool = False
    overflow: str | None = None  # "stdout" or "stderr" when that stream went over the cap
    seconds: float = 0.0
    cancelled: bool = False


class _Pump:
    def __init__(self, proc: subprocess.Popen[bytes], stdin: bytes, max_output: int):
        if proc.stdin is None or proc.stdout is None or proc.stderr is None:
            raise ValueError("the process must be started with pipes for stdin, stdout and stderr")
        self.proc, self.pending, self.max_output = proc, memoryview(stdin), max_output
        self.out = {"stdout": bytearray(), "stderr": bytearray()}
        self.overflow: str | None = None
        self.selector = selectors.DefaultSelector()
        for name in ("stdout", "stderr"):
            self.selector.register(getattr(proc, name), selectors.EVENT_READ, name)
        if stdin:
            os.set_blocking(proc.stdin.fileno(), False)
            self.selector.register(proc.stdin, selectors.EVENT_WRITE, "stdin")
        else:
            proc.stdin.close()

    def run(self, deadline: float, cancel: threading.Event | None) -> bool:
        """Pump until both outputs end (True), or the deadline / an overflow / cancel (False)."""
        while any(key.data != "stdin" for key in self.selector.get_map().values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.overflow or (cancel is not None and cancel.is_set()):
                return False
            wait = remaining if cancel is None else min(remaining, CANCEL_POLL_SECONDS)
            for key, _ in self.selector.select(wait):
                self._write(key) if key.data == "stdin" else self._read(key)
        return True

    def _write(self, key) -> None:
        try:
            self.pending = self.pending[os.write(key.fd, self.pending[:CHUNK]) :]
        except (BrokenPipeError, ConnectionResetError):
            self.pending = memoryview(b"")
        if not self.pending:
            self.selector.unregister(key.fileobj)
            key.fileobj.close()

    def _read(self, key) -> None:
        data = os.read(key.fd, CHUNK)
        if not data:
            self.selector.unregister(key.fileobj)
            return
        buffer = self.out[key.data]
        room = self.max_output - len(buffer)
        buffer += data[:room]
        if len(data) > room:
            self.overflow = key.data


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def supervise(
    command: list[str],
    *,
    stdin: bytes,
    timeout: float,
    max_output: int,
    env: dict[str, str],
    cwd: str | None = None,
    pass_fds: tuple[int, ...] = (),
    cancel: threading.Event | None = None,
) -> Exit:
    start = time.monotonic()
    deadline = start + timeout
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
        pass_fds=pass_fds,
    )
    pump = _Pump(proc, stdin, max_output)
    try:
        finished = pump.run(deadline, cancel)
        if finished:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                finished = False
    finally:
        _kill_group(proc.pid)
        proc.wait()
        pump.selector.close()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream and not stream.closed:
                stream.close()
    return Exit(
        proc.returncode,
        bytes(pump.out["stdout"]),
        bytes(pump.out["stderr"]),
        timed_out=not finished and pump.overflow is None,
        overflow=pump.overflow,
        seconds=time.monotonic() - start,
        cancelled=cancel is not None and cancel.is_set(),
    )

"""`openft serve` and `openft worker` as real processes on one data dir, for the tests that kill
them (SIGKILL, SIGTERM) and start them again; their training processes found through /proc."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def openft_env(data_dir: Path, base_models: dict, **settings) -> dict[str, str]:
    """The environment of an openft process on ``data_dir`` training ``base_models`` (name ->
    BaseModelConfig), with ``settings`` as OPENFT_* variables."""
    env = {
        **os.environ,
        "OPENFT_DATA_DIR": str(data_dir),
        "OPENFT_BASE_MODELS": json.dumps({k: v.model_dump() for k, v in base_models.items()}),
        "OPENFT_MODEL_ALIASES": "{}",
        "OPENFT_VALIDATOR_POLL_SECONDS": "0.2",
        "OPENFT_WORKER_POLL_SECONDS": "0.2",
    }
    env.pop("OPENFT_SETTINGS_JSON", None)
    for name, value in settings.items():
        env[f"OPENFT_{name.upper()}"] = str(value)
    return env


class OpenftProcess:
    """``openft serve`` (with its embedded worker) or ``openft worker``, its log in the data dir."""

    def __init__(self, command: str, env: dict[str, str], log: Path):
        self.command, self.env, self.log_path = command, env, log
        self.port = free_port() if command == "serve" else None
        if self.port is not None:
            env["OPENFT_PORT"] = str(self.port)
        with open(log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "openft", command], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def ready(self, timeout: float = 60) -> OpenftProcess:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, self.log()
            time.sleep(0.2)

    def trainers(self) -> list[int]:
        """The pids of this process's training processes running a job (writing to its train.log)."""
        return [pid for pid in self._training_processes() if "/jobs/" in stdout_of(pid)]

    def standby(self) -> list[int]:
        """The pids of its standby trainers, started ahead and waiting for a job."""
        return [pid for pid in self._training_processes() if "/jobs/" not in stdout_of(pid)]

    def _training_processes(self) -> list[int]:
        return [pid for pid in children(self.process.pid) if "openft.train" in cmdline(pid)]

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def stdout_of(pid: int) -> str:
    """Where the process's stdout goes ('' when it is gone)."""
    try:
        return os.readlink(f"/proc/{pid}/fd/1")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def wait_for_standby(process: OpenftProcess, timeout: float = 60) -> list[int]:
    """The pids of the process's standby trainers, once it has one."""
    deadline = time.monotonic() + timeout
    while not (standby := process.standby()):
        assert time.monotonic() < deadline, "no standby trainer was started"
        time.sleep(0.1)
    return standby


def wait_for_ready_standby(process: OpenftProcess, timeout: float = 180) -> int:
    """The pid of a standby trainer of the process that has imported its stack (the worker logs
    it), the one the next job goes to."""
    deadline = time.monotonic() + timeout
    while True:
        log = process.log_path.read_text(errors="replace")
        ready = [pid for pid in process.standby() if f"standby trainer {pid} is ready" in log]
        if ready:
            return ready[0]
        assert time.monotonic() < deadline, "no standby trainer became ready"
        time.sleep(0.1)


def wait_until_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        time.sleep(0.1)

"""The sandbox python graders run in: a separate, confined process per grading.

Two modes (README "Python grader sandbox" says what each isolates):

- `bwrap`: bubblewrap namespaces and a minimal read-only view (`openft.graders.bwrap`); as
  root the runner then drops to a fresh unprivileged uid, otherwise a user namespace maps it.
- `process`: the fallback where bubblewrap is missing or cannot create namespaces: a plain
  child process with the same limits, its own network namespace when the kernel allows it,
  and an audit hook refusing processes, signals, sockets, native calls and files outside the
  interpreter, the grader packages and its scratch folder.

`auto` (the default) probes bubblewrap once and falls back with a logged warning. Both modes
apply the limits (`SandboxLimits`) inside the runner before any grader code runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openft.graders.bwrap import SITE_IN_SANDBOX, bwrap_command, interpreter, stdlib_dirs
from openft.graders.packages import IMAGE_PACKAGES, site_entries
from openft.graders.supervisor import Exit, supervise

__all__ = ["RUNNER", "Sandbox", "SandboxLimits", "SandboxUnavailable"]

log = logging.getLogger("openft.graders")
RUNNER = Path(__file__).resolve().parent / "runner.py"
UID_BASE, UID_COUNT = 0x30000, 0x10000  # as root, each run gets its own uid from this range
PROBE = "def grade(sample, item):\n    return 1.0\n"


@dataclass(frozen=True)
class SandboxLimits:
    """Defaults are OpenAI's documented grader limits (2 minutes, 2 GB memory, 1 GB disk, 2 cores)."""

    timeout_seconds: float = 120.0
    memory_bytes: int = 2 * 1024**3
    disk_bytes: int = 1024**3
    cpu_cores: int = 2
    max_processes: int = 64
    max_open_files: int = 256
    max_output_bytes: int = 1024**2

    def rlimits(self, *, processes: bool) -> dict[str, int]:
        limits = {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_FSIZE": self.disk_bytes,
            "RLIMIT_CORE": 0,
            "RLIMIT_CPU": math.ceil(self.timeout_seconds * self.cpu_cores) + 1,
            "RLIMIT_NOFILE": self.max_open_files,
        }
        if processes:
            limits["RLIMIT_NPROC"] = self.max_processes
        return limits

    def env(self, home: str) -> dict[str, str]:
        threads = str(self.cpu_cores)
        return {
            "HOME": home,
            "TMPDIR": home,
            "LANG": "C.UTF-8",
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        }


class SandboxUnavailable(RuntimeError):
    """The configured sandbox cannot run here (e.g. `bwrap` was required but does not work)."""


class Sandbox:
    def __init__(
        self,
        mode: str = "auto",
        limits: SandboxLimits = SandboxLimits(),
        *,
        packages: tuple[str, ...] = IMAGE_PACKAGES,
        concurrency: int = 4,
    ):
        if mode not in ("auto", "bwrap", "process"):
            raise ValueError(f"unknown sandbox mode {mode!r}")
        self.requested, self.limits, self.packages = mode, limits, tuple(packages)
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._mode: str | None = None
        self._problem: str | None = None

    @property
    def mode(self) -> str:
        """`bwrap` or `process`: what runs graders here (bubblewrap is probed once)."""
        with self._lock:
            if self._mode is None and self._problem is None:
                self._resolve()
        if self._mode is None:
            raise SandboxUnavailable(self._problem)
        return self._mode

    def _resolve(self) -> None:
        if self.requested == "process":
            self._mode = "process"
            return
        problem = self._bwrap_problem()
        if problem is None:
            self._mode = "bwrap"
        elif self.requested == "auto":
            log.warning("python graders run in the fallback process sandbox: %s", problem)
            self._mode = "process"
        else:
            self._problem = f"the bwrap sandbox is required but unusable: {problem}"

    def _bwrap_problem(self) -> str | None:
        if shutil.which("bwrap") is None:
            return "bubblewrap (bwrap) is not installed"
        probe = self._execute("bwrap", PROBE, {}, {}, SandboxLimits(timeout_seconds=30))
        if probe.stdout.strip() == b'{"score": 1.0}':
            return None
        return probe.stderr.decode(errors="replace").strip()[-500:] or f"exit status {probe.returncode}"

    def run(self, source: str, sample: dict[str, Any], item: dict[str, Any]) -> Exit:
        """Run `grade(sample, item)` from `source`; the runner's raw exit (see python_grader)."""
        mode = self.mode
        with self._slots:
            return self._execute(mode, source, sample, item, self.limits)

    def _execute(self, mode: str, source: str, sample: Any, item: Any, limits: SandboxLimits) -> Exit:
        site = site_entries(self.packages)
        if mode == "bwrap":
            return self._in_bwrap(source, sample, item, limits, site)
        return self._in_process(source, sample, item, limits, site)

    def _in_bwrap(self, source, sample, item, limits: SandboxLimits, site) -> Exit:
        root = os.geteuid() == 0
        config = {
            "rlimits": limits.rlimits(processes=True),
            "cpu_cores": limits.cpu_cores,
            "uid": UID_BASE + secrets.randbelow(UID_COUNT) if root else None,
            "site_paths": [SITE_IN_SANDBOX],
        }
        command = bwrap_command(
            runner=RUNNER,
            site=site,
            disk_bytes=limits.disk_bytes,
            env=limits.env("/tmp"),
            user_namespace=not root,
        )
        return _supervise(command, config, source, sample, item, limits, env={}, cwd=None)

    def _in_process(self, source, sample, item, limits: SandboxLimits, site) -> Exit:
        scratch = tempfile.mkdtemp(prefix="openft-grader-")
        try:
            site_dirs = sorted({str(entry.parent) for entry in site})
            config = {
                "rlimits": limits.rlimits(processes=False),
                "cpu_cores": limits.cpu_cores,
                "site_paths": site_dirs,
                "guard": True,
                "isolate_network": True,
                "scratch": scratch,
                "read_roots": _read_roots(site_dirs),
            }
            command = [str(interpreter()), "-I", "-S", "-B", "-X", "utf8", str(RUNNER)]
            return _supervise(
                command, config, source, sample, item, limits, env=limits.env(scratch), cwd=scratch
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _read_roots(site_dirs: list[str]) -> list[str]:
    return sorted(
        {
            *map(str, stdlib_dirs()),
            *site_dirs,
            "/dev/null",
            "/dev/urandom",
            "/sys/devices/system/cpu",
            "/usr/share/zoneinfo",
        }
    )


def _supervise(command, config, source, sample, item, limits: SandboxLimits, *, env, cwd) -> Exit:
    request = json.dumps({"config": config, "source": source, "sample": sample, "item": item}).encode()
    return supervise(
        command,
        stdin=request,
        timeout=limits.timeout_seconds,
        max_output=limits.max_output_bytes,
        env=env,
        cwd=cwd,
    )

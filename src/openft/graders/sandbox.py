"""The sandbox python graders run in: a separate, confined process per grading.

Two modes (README "Python grader sandbox" says what each isolates):

- `bwrap`: bubblewrap namespaces, a minimal read-only view and a seccomp filter
  (`openft.graders.bwrap`, `openft.graders.seccomp`); as root the runner then drops to a fresh
  unprivileged uid, otherwise a user namespace maps it.
- `process`: a guard, not a boundary, for hosts without bubblewrap, used only when the operator
  asks for it: a plain child process with the same limits, as root a fresh unprivileged uid, its
  own network, mount and IPC namespaces when the kernel allows them, a seccomp filter refusing
  new processes, signals and sockets, and an audit hook refusing files outside the interpreter,
  the grader packages and its scratch folder, native calls and a few dangerous modules.

`auto` (the default) probes bubblewrap once and, when it is unusable, fails closed: python
graders are refused with a `python_grader_server_error` saying how to fix it (install bubblewrap,
or opt into `process`). Both modes apply the limits (`SandboxLimits`) inside the runner before
any grader code runs.
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
from openft.graders.seccomp import SeccompUnavailable, filter_bpf
from openft.graders.supervisor import Exit, supervise

__all__ = ["RUNNER", "Sandbox", "SandboxLimits", "SandboxUnavailable"]

log = logging.getLogger("openft.graders")
RUNNER = Path(__file__).resolve().parent / "runner.py"
UID_BASE, UID_COUNT = 0x30000, 0x10000  # as root, each run gets its own uid from this range
PROBE = "def grade(sample, item):\n    return 1.0\n"
SHM_BYTES = 64 * 1024 * 1024  # /dev/shm, for multiprocessing's semaphores (at most 1/16 of the memory)
INSTALL_HINT = (
    "install bubblewrap (`apt-get install bubblewrap`, which `make setup` does) on a host that allows "
    "unprivileged namespaces, or set OPENFT_GRADER_SANDBOX=process to accept the weaker fallback sandbox"
)


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

    @property
    def shm_bytes(self) -> int:
        return min(SHM_BYTES, self.memory_bytes // 16)

    @property
    def scratch_bytes(self) -> int:
        """The scratch tmpfs of the bwrap mode: the disk limit, at most half the memory."""
        return min(self.disk_bytes, self.memory_bytes // 2)

    def rlimits(self, *, processes: bool, tmpfs: bool) -> dict[str, int]:
        """`tmpfs`: the scratch space and /dev/shm are memory, taken off the address space limit."""
        memory = self.memory_bytes - (self.scratch_bytes + self.shm_bytes if tmpfs else 0)
        limits = {
            "RLIMIT_AS": memory,
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
        problem = self.problem
        if problem is not None:
            raise SandboxUnavailable(problem)
        assert self._mode is not None
        return self._mode

    @property
    def problem(self) -> str | None:
        """Why python graders cannot run here (a sentence saying what to do), or None."""
        with self._lock:
            if self._mode is None and self._problem is None:
                self._resolve()
        return self._problem

    def _resolve(self) -> None:
        try:
            filter_bpf(process_mode=self.requested == "process")
        except SeccompUnavailable as exc:
            self._problem = f"python graders cannot run: {exc}"
            return
        if self.requested == "process":
            log.warning("python graders run in the process sandbox, a guard and not a boundary")
            self._mode = "process"
            return
        problem = self._bwrap_problem()
        if problem is None:
            self._mode = "bwrap"
            return
        self._problem = f"python graders need the bubblewrap sandbox, which is unusable here ({problem}); "
        self._problem += INSTALL_HINT
        log.error("python graders are refused: %s", self._problem)

    def _bwrap_problem(self) -> str | None:
        if shutil.which("bwrap") is None:
            return "bubblewrap (bwrap) is not installed"
        probe = self._execute("bwrap", PROBE, {}, {}, SandboxLimits(timeout_seconds=30))
        if probe.stdout.strip() == b'{"score": 1.0}':
            return None
        return probe.stderr.decode(errors="replace").strip()[-500:] or f"exit status {probe.returncode}"

    def run(
        self,
        source: str,
        sample: dict[str, Any],
        item: dict[str, Any],
        *,
        cancel: threading.Event | None = None,
    ) -> Exit:
        """Run `grade(sample, item)` from `source`; the runner's raw exit (see python_grader).
        Setting `cancel` stops the run (its client went away)."""
        mode = self.mode
        with self._slots:
            return self._execute(mode, source, sample, item, self.limits, cancel)

    def _execute(
        self, mode: str, source: str, sample: Any, item: Any, limits: SandboxLimits, cancel=None
    ) -> Exit:
        site = site_entries(self.packages)
        if mode == "bwrap":
            return self._in_bwrap(source, sample, item, limits, site, cancel)
        return self._in_process(source, sample, item, limits, site, cancel)

    def _in_bwrap(self, source, sample, item, limits: SandboxLimits, site, cancel) -> Exit:
        root = os.geteuid() == 0
        config = {
            "rlimits": limits.rlimits(processes=True, tmpfs=True),
            "cpu_cores": limits.cpu_cores,
            "uid": _fresh_uid() if root else None,
            "site_paths": [SITE_IN_SANDBOX],
        }
        seccomp = _descriptor(filter_bpf(process_mode=False))
        try:
            command = bwrap_command(
                runner=RUNNER,
                site=site,
                scratch_bytes=limits.scratch_bytes,
                shm_bytes=limits.shm_bytes,
                env=limits.env("/tmp"),
                user_namespace=not root,
                seccomp_fd=seccomp,
            )
            return _supervise(
                command,
                config,
                (source, sample, item),
                limits,
                env={},
                cwd=None,
                fds=(seccomp,),
                cancel=cancel,
            )
        finally:
            os.close(seccomp)

    def _in_process(self, source, sample, item, limits: SandboxLimits, site, cancel) -> Exit:
        scratch = tempfile.mkdtemp(prefix="openft-grader-")
        uid = _fresh_uid() if os.geteuid() == 0 else None
        try:
            if uid is not None:
                os.chown(scratch, uid, uid)
            site_dirs = sorted({str(entry.parent) for entry in site})
            config = {
                "rlimits": limits.rlimits(processes=uid is not None, tmpfs=False),
                "cpu_cores": limits.cpu_cores,
                "uid": uid,
                "site_paths": site_dirs,
                "guard": True,
                "isolate": True,
                "shm_bytes": limits.shm_bytes,
                "seccomp": filter_bpf(process_mode=True).hex(),
                "scratch": scratch,
                "read_roots": _read_roots(site_dirs),
            }
            command = [str(interpreter()), "-I", "-S", "-B", "-X", "utf8", str(RUNNER)]
            env = limits.env(scratch)
            return _supervise(
                command, config, (source, sample, item), limits, env=env, cwd=scratch, cancel=cancel
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _fresh_uid() -> int:
    return UID_BASE + secrets.randbelow(UID_COUNT)


def _descriptor(data: bytes) -> int:
    """A pipe's read end holding `data` (a BPF program is far below a pipe's buffer)."""
    read, write = os.pipe()
    try:
        os.write(write, data)
    finally:
        os.close(write)
    return read


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


def _supervise(command, config, job, limits: SandboxLimits, *, env, cwd, fds=(), cancel=None) -> Exit:
    source, sample, item = job
    request = json.dumps({"config": config, "source": source, "sample": sample, "item": item}).encode()
    return supervise(
        command,
        stdin=request,
        timeout=limits.timeout_seconds,
        max_output=limits.max_output_bytes,
        env=env,
        cwd=cwd,
        pass_fds=fds,
        cancel=cancel,
    )

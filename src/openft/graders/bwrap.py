"""The bubblewrap command line of one sandboxed grader run: namespaces, a minimal view, seccomp.

The sandbox's file system is a fresh root holding only, read-only: the system shared libraries
the interpreter and the grader packages link against (`openft.graders.libraries`; not the rest
of /usr/lib), the Python interpreter and its standard library (its site-packages hidden under an
empty tmpfs), the runner script at /sandbox/runner.py and the grader packages at /sandbox/site;
plus a private /proc, a minimal /dev, and size-limited tmpfs at /dev/shm and /tmp (the scratch
space, also HOME and the working directory), sized by the caller within the memory limit. It has
its own network (no interfaces), PID, IPC, UTS and cgroup namespaces, a new session (no
terminal), an empty environment, the seccomp filter read from a descriptor
(`openft.graders.seccomp`), and dies with its parent.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

from openft.graders.libraries import shared_libraries

__all__ = ["RUNNER_IN_SANDBOX", "SITE_IN_SANDBOX", "bwrap_command", "interpreter", "stdlib_dirs"]

RUNNER_IN_SANDBOX = "/sandbox/runner.py"
SITE_IN_SANDBOX = "/sandbox/site"
SYSTEM_LIBS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/usr/lib32")


def interpreter() -> Path:
    """The real Python executable (not a virtualenv's symlink)."""
    return Path(os.path.realpath(sys.executable))


def stdlib_dirs() -> list[Path]:
    """The base interpreter's standard library folders (never a virtualenv's lib/, which holds its
    site-packages)."""
    base = {
        "base": sys.base_prefix,
        "platbase": sys.base_exec_prefix,
        "installed_base": sys.base_prefix,
        "installed_platbase": sys.base_exec_prefix,
    }
    paths = sysconfig.get_paths(vars=base)
    return sorted({Path(os.path.realpath(paths[key])) for key in ("stdlib", "platstdlib")})


def _python_paths() -> list[Path]:
    paths = [interpreter(), *stdlib_dirs()]
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        library = Path(sysconfig.get_config_var("LIBDIR")) / sysconfig.get_config_var("INSTSONAME")
        paths.append(library)
    return [Path(os.path.realpath(p)) for p in paths if os.path.exists(p)]


class _Mounts:
    """bwrap arguments, creating each parent folder world-traversable before its mount."""

    def __init__(self) -> None:
        self.args: list[str] = []
        self.dirs: set[str] = {"/"}
        self.covered: list[str] = []

    def parents(self, dest: str) -> None:
        for parent in reversed(Path(dest).parents):
            if str(parent) not in self.dirs:
                self.args += ["--perms", "0755", "--dir", str(parent)]
                self.dirs.add(str(parent))

    def ro_bind(self, source: Path, dest: str | None = None) -> None:
        dest = dest or str(source)
        if any(dest == c or dest.startswith(c + "/") for c in self.covered):
            return
        self.parents(dest)
        self.args += ["--ro-bind", str(source), dest]
        self.covered.append(dest)
        self.dirs.add(dest)

    def hide(self, path: Path) -> None:
        """An empty, root-owned tmpfs over a folder inside a bound one."""
        if path.is_dir():
            self.args += ["--tmpfs", str(path)]

    def system_libs(self, private: tuple[Path, ...]) -> None:
        """The /lib* symlinks of a merged /usr, then each needed library where the loader looks."""
        for path in SYSTEM_LIBS:
            if os.path.islink(path):
                self.args += ["--symlink", os.readlink(path), path]
                self.dirs.add(path)
        for view, host in shared_libraries(private, private):
            self.ro_bind(Path(host), view)


def bwrap_command(
    *,
    runner: Path,
    site: tuple[Path, ...],
    scratch_bytes: int,
    shm_bytes: int,
    env: dict[str, str],
    user_namespace: bool,
    seccomp_fd: int,
) -> list[str]:
    """`bwrap ... python -I -S -B -X utf8 /sandbox/runner.py`; `user_namespace` when not root
    (as root, the runner itself drops to an unprivileged uid instead); `seccomp_fd` is a
    descriptor the child inherits, holding the BPF program."""
    mounts = _Mounts()
    python = tuple(_python_paths())
    mounts.system_libs(python + tuple(site))
    for path in python:
        mounts.ro_bind(path)
    for stdlib in stdlib_dirs():
        mounts.hide(stdlib / "site-packages")  # the base interpreter's own packages
    mounts.ro_bind(runner, RUNNER_IN_SANDBOX)
    mounts.parents(SITE_IN_SANDBOX + "/x")
    for entry in site:
        mounts.ro_bind(entry, f"{SITE_IN_SANDBOX}/{entry.name}")
    command = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
    ]
    if user_namespace:
        command += ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    command += ["--die-with-parent", "--new-session", "--clearenv", "--seccomp", str(seccomp_fd)]
    for key, value in env.items():
        command += ["--setenv", key, value]
    command += mounts.args
    command += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(shm_bytes),
        "--tmpfs",
        "/dev/shm",
        "--perms",
        "1777",
        "--size",
        str(scratch_bytes),
        "--tmpfs",
        "/tmp",
    ]
    command += [
        "--chdir",
        "/tmp",
        "--",
        str(interpreter()),
        "-I",
        "-S",
        "-B",
        "-X",
        "utf8",
        RUNNER_IN_SANDBOX,
    ]
    return command

"""The seccomp filters python graders run under, compiled to classic BPF with libseccomp.

libseccomp (`libseccomp2` on Debian/Ubuntu, a system library, used through ctypes) resolves
the system calls of this machine's architecture and exports the program; the kernel applies
it. Refused calls fail with EPERM (`clone3` with ENOSYS, so the C library falls back to
`clone`, whose flags a filter can read); a call from another architecture's ABI (32-bit
`int 0x80` on x86-64) kills the process.

- `KERNEL`, in both modes: new namespaces (`unshare`, `setns`, `clone` with a CLONE_NEW*
  flag), `ptrace` and reading or writing other processes' memory, mounting (`mount`,
  `umount2`, `pivot_root`, the new mount API), the kernel keyrings (`add_key`, `request_key`,
  `keyctl`), `bpf`, `perf_event_open`, `userfaultfd`, `io_uring` (which bypasses seccomp),
  kernel modules and `kexec`, `reboot`, swapping and changing the clock.
- `PROCESS`, added in the `process` mode: new processes (`fork`, `vfork`, `clone` without
  CLONE_THREAD, `execve`), signals to any process (`kill`, `tkill`, `tgkill`, pidfds), new
  sessions, sockets, and System V / POSIX message IPC that outlives the grader.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import tempfile
from functools import cache

__all__ = ["KERNEL", "PROCESS", "SeccompUnavailable", "filter_bpf"]

CLONE_THREAD = 0x00010000
CLONE_NEW = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}
KERNEL = (
    "unshare",
    "setns",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "add_key",
    "request_key",
    "keyctl",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "settimeofday",
    "clock_settime",
    "adjtimex",
    "clock_adjtime",
    "acct",
    "quotactl",
    "name_to_handle_at",
    "open_by_handle_at",
)
PROCESS = (
    "fork",
    "vfork",
    "execve",
    "execveat",
    "kill",
    "tkill",
    "tgkill",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
    "pidfd_open",
    "pidfd_send_signal",
    "pidfd_getfd",
    "setsid",
    "setpgid",
    "socket",
    "socketpair",
    "shmget",
    "semget",
    "msgget",
    "mq_open",
)
_ALLOW = 0x7FFF0000
_CMP_MASKED_EQ = 7


class SeccompUnavailable(RuntimeError):
    """libseccomp is not installed (or cannot build a filter here)."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [
        ("arg", ctypes.c_uint),
        ("op", ctypes.c_int),
        ("datum_a", ctypes.c_uint64),
        ("datum_b", ctypes.c_uint64),
    ]


def _errno(number: int) -> int:
    return 0x00050000 | (number & 0xFFFF)


@cache
def _library() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp is not installed ({exc}); install libseccomp2") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint32,
        ctypes.c_int,
        ctypes.c_uint,
        ctypes.POINTER(_ArgCmp),
    ]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _masked(arg: int, mask: int, value: int) -> tuple[_ArgCmp, ...]:
    return (_ArgCmp(arg, _CMP_MASKED_EQ, mask, value),)


class _Filter:
    def __init__(self) -> None:
        self.lib = _library()
        self.ctx = self.lib.seccomp_init(_ALLOW)
        if not self.ctx:
            raise SeccompUnavailable("seccomp_init failed")

    def refuse(
        self, name: str, action: int = _errno(errno.EPERM), comparisons: tuple[_ArgCmp, ...] = ()
    ) -> None:
        number = self.lib.seccomp_syscall_resolve_name(name.encode())
        if number == -1:  # __NR_SCMP_ERROR: no such call on this architecture
            return
        array = (_ArgCmp * max(1, len(comparisons)))(*comparisons)
        status = self.lib.seccomp_rule_add_array(self.ctx, action, number, len(comparisons), array)
        if status not in (0, -errno.EDOM):  # EDOM: a pseudo call that does not exist here
            raise SeccompUnavailable(f"seccomp rule for {name} failed ({os.strerror(-status)})")

    def export(self) -> bytes:
        with tempfile.TemporaryFile() as out:
            status = self.lib.seccomp_export_bpf(self.ctx, out.fileno())
            if status != 0:
                raise SeccompUnavailable(f"seccomp_export_bpf failed ({os.strerror(-status)})")
            out.seek(0)
            return out.read()

    def release(self) -> None:
        self.lib.seccomp_release(self.ctx)


@cache
def filter_bpf(*, process_mode: bool) -> bytes:
    """The BPF program (struct sock_filter[]) of the mode's filter: `KERNEL`, plus `PROCESS`
    in the process mode. Raises SeccompUnavailable without libseccomp."""
    rules = _Filter()
    try:
        for name in KERNEL + (PROCESS if process_mode else ()):
            rules.refuse(name)
        rules.refuse("clone3", _errno(errno.ENOSYS))
        for flag in CLONE_NEW.values():
            rules.refuse("clone", comparisons=_masked(0, flag, flag))
        if process_mode:
            rules.refuse("clone", comparisons=_masked(0, CLONE_THREAD, 0))
        return rules.export()
    finally:
        rules.release()

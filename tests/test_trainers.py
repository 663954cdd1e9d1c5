"""The environment a worker starts training processes with: glibc's malloc keeps large blocks in
its heap (a training step's activations are not page-faulted afresh every step), unless the user
set GLIBC_TUNABLES of their own."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from openft.config import Settings
from openft.storage import Storage
from openft.trainers import Trainers

# How many bytes of a fresh 100 MB block glibc's malloc took from mmap, in a child process.
MMAPPED = """
import ctypes
fields = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()
class Info(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in fields]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = Info
block = bytearray(100 << 20)
print(libc.mallinfo2().hblkhd)
"""


def trainer_env(tmp_path, **environ) -> dict[str, str]:
    settings = Settings(data_dir=tmp_path)
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("GLIBC_TUNABLES", raising=False)
        for name, value in environ.items():
            patch.setenv(name, value)
        return Trainers(settings, Storage(tmp_path), "sqlite:///unused.db").env


def mmapped(env: dict[str, str]) -> int:
    return int(
        subprocess.run(
            [sys.executable, "-c", MMAPPED], env=env, capture_output=True, text=True, check=True
        ).stdout
    )


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc tunables")
def test_a_training_process_keeps_large_blocks_in_mallocs_heap(tmp_path):
    plain = {name: value for name, value in os.environ.items() if name != "GLIBC_TUNABLES"}
    assert mmapped(plain) >= 100 << 20  # glibc's default: a block this large is mmap'd
    assert mmapped(trainer_env(tmp_path)) == 0


def test_the_users_own_malloc_tunables_are_kept(tmp_path):
    assert trainer_env(tmp_path, GLIBC_TUNABLES="glibc.malloc.arena_max=2")["GLIBC_TUNABLES"] == (
        "glibc.malloc.arena_max=2"
    )

"""The system shared libraries a python grader can load: what the interpreter, its standard
library's extension modules and the grader packages link against, and nothing else of /usr/lib.

Found once per process with `ldd` over every ELF file of those (the dynamic loader, the C
library, libffi, libstdc++, ...), plus `libgcc_s` (which glibc loads at run time for thread
cancellation). Each comes back as (the path the loader looks it up at, the file it is), so the
bwrap view can bind it where the loader will look, as the loader finds it without an
`/etc/ld.so.cache`.
"""

from __future__ import annotations

import os
import subprocess
from functools import lru_cache
from pathlib import Path

__all__ = ["shared_libraries"]

RUNTIME_LOADED = ("libgcc_s.so.1",)
_BATCH = 200


def _elf_files(roots: tuple[Path, ...]) -> list[str]:
    found = []
    for root in roots:
        if root.is_file():
            found.append(str(root))
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__")]
            found += [os.path.join(folder, f) for f in files if f.endswith(".so") or ".so." in f]
    return found


def _ldd(files: list[str]) -> set[str]:
    needed: set[str] = set()
    for start in range(0, len(files), _BATCH):
        out = subprocess.run(
            ["ldd", *files[start : start + _BATCH]],
            capture_output=True,
            text=True,
            env={"LC_ALL": "C"},
            check=False,
        ).stdout
        for raw in out.splitlines():
            line = raw.strip()
            path = line.split("=>", 1)[1] if "=>" in line else line
            path = path.split(" (", 1)[0].strip()
            if path.startswith("/") and not path.endswith(":"):
                needed.add(path)
    return needed


def _where_the_loader_looks(path: str) -> str:
    """The library's name in its folder, the folder with its symlinks (/lib -> usr/lib) resolved."""
    return os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))


@lru_cache(maxsize=8)
def shared_libraries(roots: tuple[Path, ...], private: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    """(path in the view, file on the host) of every system library the ELF files under `roots`
    need; libraries inside `private` (the folders bound into the view anyway) are left out."""
    needed = _ldd(_elf_files(roots))
    found = {_where_the_loader_looks(p): os.path.realpath(p) for p in needed if os.path.exists(p)}
    libc_dir = next((os.path.dirname(p) for p in found if os.path.basename(p) == "libc.so.6"), None)
    for name in RUNTIME_LOADED:
        if libc_dir and os.path.exists(os.path.join(libc_dir, name)):
            found.setdefault(os.path.join(libc_dir, name), os.path.realpath(os.path.join(libc_dir, name)))
    inside = tuple(str(p) + "/" for p in private)
    return tuple(sorted((view, host) for view, host in found.items() if not view.startswith(inside)))

"""Numerics: which device trains and serves, and in which dtype, decided at run time.

bfloat16 where the hardware runs it fast (a CUDA GPU that supports it, a CPU with AMX: Intel's
matrix units, flag ``amx_bf16``), float32 elsewhere: on a CPU without AMX bfloat16 matmuls are
no faster than float32 ones and only lose precision. The setting ``compute_dtype``
(``OPENFT_COMPUTE_DTYPE``: auto, float32 or bfloat16) overrides the choice. Training and serving
both ask here; torch loads only when a choice is made.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

AUTO, FLOAT32, BFLOAT16 = "auto", "float32", "bfloat16"
CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class Numerics:
    device: str  # "cuda" or "cpu"
    dtype: str  # "bfloat16" or "float32"
    hardware: str  # the GPU's or the CPU's name
    reason: str  # why this dtype

    @property
    def torch_dtype(self):
        import torch

        return getattr(torch, self.dtype)

    @property
    def bf16(self) -> bool:
        return self.dtype == BFLOAT16

    def describe(self) -> str:
        """The job event's text: which device and dtype train it, and why."""
        return f"Training on {self.device.upper()} ({self.hardware}) in {self.dtype}: {self.reason}"


def choose(setting: str = AUTO, *, device: str | None = None, cpuinfo: Path = CPUINFO) -> Numerics:
    """The device (CUDA when present, unless ``device`` says) and the dtype for ``setting``."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = device.split(":")[0] == "cuda"
    if on_gpu:
        hardware, fast, why = torch.cuda.get_device_name(0), torch.cuda.is_bf16_supported(), "this GPU"
    else:
        flags = cpu_flags(cpuinfo)
        hardware, fast, why = cpu_name(cpuinfo), "amx_bf16" in flags, "this CPU (AMX)"
    if setting != AUTO:
        return Numerics(device, setting, hardware, f"set by compute_dtype={setting}")
    if fast:
        return Numerics(device, BFLOAT16, hardware, f"{why} runs bfloat16 fast")
    slow = "this GPU has no bfloat16" if on_gpu else "this CPU has no AMX for fast bfloat16"
    return Numerics(device, FLOAT32, hardware, slow)


def cpu_flags(cpuinfo: Path = CPUINFO) -> set[str]:
    """The CPU's feature flags (Linux); empty where /proc/cpuinfo is not there."""
    for line in _cpuinfo_lines(cpuinfo):
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def cpu_name(cpuinfo: Path = CPUINFO) -> str:
    for line in _cpuinfo_lines(cpuinfo):
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return platform.processor() or platform.machine()


def _cpuinfo_lines(cpuinfo: Path) -> list[str]:
    try:
        return cpuinfo.read_text().splitlines()
    except OSError:
        return []

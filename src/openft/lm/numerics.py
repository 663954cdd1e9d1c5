"""Numerics: which device trains and serves, and in which dtype, decided at run time.

bfloat16 where the hardware runs it fast (a CUDA GPU that supports it; a CPU with native bfloat16
instructions: Intel's AMX matrix units, flag ``amx_bf16``, or AVX-512 BF16 dot products, flag
``avx512_bf16``, as on AMD Zen 4 and Intel Cooper Lake), float32 elsewhere: a CPU without them
emulates bfloat16 matmuls, no faster than float32 ones, and only loses precision. Measured on the
project's 2-core VMs (2048x2048 matmul): AMX 115 -> 650 GFLOP/s, AMD EPYC with avx512_bf16
148 -> 344 GFLOP/s. The setting ``compute_dtype``
(``OPENFT_COMPUTE_DTYPE``: auto, float32 or bfloat16) overrides the choice. Training and serving
both ask here; torch loads only when a choice is made.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

AUTO, FLOAT32, BFLOAT16 = "auto", "float32", "bfloat16"
CPUINFO = Path("/proc/cpuinfo")
# The CPU flags of native bfloat16 matmul units, best first, with the name an event gives them.
CPU_BF16_UNITS = (("amx_bf16", "AMX"), ("avx512_bf16", "AVX-512 BF16"))


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

    @property
    def device_type(self) -> str:
        return device_type(self.device)

    @property
    def on_gpu(self) -> bool:
        return is_gpu(self.device)

    def describe(self) -> str:
        """The job event's text: which device and dtype train it, and why."""
        return f"Training on {self.device.upper()} ({self.hardware}) in {self.dtype}: {self.reason}"


def choose(setting: str = AUTO, *, device: str | None = None, cpuinfo: Path = CPUINFO) -> Numerics:
    """The device (CUDA when present, unless ``device`` says) and the dtype for ``setting``."""
    import torch

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    on_gpu = is_gpu(device)
    if on_gpu:
        hardware, fast, why = torch.cuda.get_device_name(0), torch.cuda.is_bf16_supported(), "this GPU"
    else:
        unit = next((name for flag, name in CPU_BF16_UNITS if flag in cpu_flags(cpuinfo)), None)
        hardware, fast, why = cpu_name(cpuinfo), unit is not None, f"this CPU ({unit})"
    if setting != AUTO:
        return Numerics(device, setting, hardware, f"set by compute_dtype={setting}")
    if fast:
        return Numerics(device, BFLOAT16, hardware, f"{why} runs bfloat16 fast")
    slow = "this GPU has no bfloat16" if on_gpu else "this CPU has no AMX or AVX-512 BF16 for fast bfloat16"
    return Numerics(device, FLOAT32, hardware, slow)


def device_type(device: str) -> str:
    """A device without its index ("cuda" of "cuda:1"): what ``torch.autocast`` takes."""
    return device.partition(":")[0]


def is_gpu(device: str) -> bool:
    return device_type(device) == "cuda"


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

"""Numerics: bfloat16 where the hardware runs it fast, float32 elsewhere, overridable by setting."""

from pathlib import Path

import pytest

from openft.lm import numerics

pytest.importorskip("torch")

FLAGS = "fpu sse2 avx2 avx512f avx512bw avx512vl"


def cpuinfo(tmp_path: Path, flags: str) -> Path:
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: Test Xeon\nflags\t\t: {flags}\n")
    return path


def test_a_cpu_with_amx_trains_in_bfloat16(tmp_path):
    chosen = numerics.choose(device="cpu", cpuinfo=cpuinfo(tmp_path, FLAGS + " amx_tile amx_bf16"))
    assert (chosen.device, chosen.dtype, chosen.bf16) == ("cpu", "bfloat16", True)
    assert chosen.describe().startswith("Training on CPU (Test Xeon) in bfloat16: this CPU (AMX)")


def test_a_cpu_with_avx512_bf16_trains_in_bfloat16(tmp_path):
    # AMD Zen 4 (the project's EPYC VMs) and Intel Cooper Lake: native bf16 dot products, no AMX.
    chosen = numerics.choose(device="cpu", cpuinfo=cpuinfo(tmp_path, FLAGS + " avx512_bf16"))
    assert chosen.dtype == "bfloat16"
    assert "this CPU (AVX-512 BF16) runs bfloat16 fast" in chosen.describe()


def test_a_cpu_without_native_bfloat16_trains_in_float32(tmp_path):
    chosen = numerics.choose(device="cpu", cpuinfo=cpuinfo(tmp_path, FLAGS))
    assert (chosen.dtype, chosen.bf16) == ("float32", False)
    assert "no AMX or AVX-512 BF16" in chosen.describe()


def test_no_cpuinfo_means_float32(tmp_path):
    assert numerics.choose(device="cpu", cpuinfo=tmp_path / "missing").dtype == "float32"


@pytest.mark.parametrize("setting", ["float32", "bfloat16"])
def test_the_setting_overrides_the_hardware(tmp_path, setting):
    import torch

    chosen = numerics.choose(setting, device="cpu", cpuinfo=cpuinfo(tmp_path, FLAGS + " amx_bf16"))
    assert chosen.dtype == setting and chosen.torch_dtype == getattr(torch, setting)
    assert f"compute_dtype={setting}" in chosen.describe()


def test_the_settings_read_compute_dtype_from_the_environment(monkeypatch):
    from openft.config import Settings

    monkeypatch.setenv("OPENFT_COMPUTE_DTYPE", "bfloat16")
    assert Settings().compute_dtype == "bfloat16"


@pytest.mark.parametrize(
    ("device", "device_type", "on_gpu"),
    [("cpu", "cpu", False), ("cuda", "cuda", True), ("cuda:1", "cuda", True)],
)
def test_the_device_type_and_whether_it_is_a_gpu_ignore_the_device_index(device, device_type, on_gpu):
    chosen = numerics.Numerics(device, "float32", "any", "set")
    assert (chosen.device_type, chosen.on_gpu) == (device_type, on_gpu)

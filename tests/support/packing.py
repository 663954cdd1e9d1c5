"""Where lm/packed_linear.py packs weights: a CPU that computes in bfloat16, with oneDNN."""

from __future__ import annotations


def cpu_packs() -> bool:
    """This machine's CPU packs (for tests that put their model on the CPU themselves)."""
    import torch

    from openft.lm import numerics

    return torch.backends.mkldnn.is_available() and numerics.choose(device="cpu").bf16


def jobs_pack() -> bool:
    """Training and serving run where weights are packed: on the CPU (no GPU), which packs."""
    from openft.lm import numerics

    return numerics.choose().device == "cpu" and cpu_packs()

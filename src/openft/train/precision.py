"""Precision: how a run computes in the dtype numerics.py chose, and the LoRA layers' fast path.

In bfloat16 a run is mixed precision: the weights that train (a LoRA adapter, or every weight
of a full fine-tune) stay float32, the matmuls run in bfloat16 under ``autocast``, and the
frozen base under a LoRA adapter is held in bfloat16 from the start, so no step casts it again
and it takes half the memory. (DPO's reference for a full fine-tune stays float32: it must score
exactly as the policy did at its start.)

The whole of ``trainer.train()`` runs under ``autocast``: the Trainer's own forward, openft's
head and loss on labelled tokens (which call the backbone directly, past the forward that
accelerate wraps in autocast), the evaluations and RFT's sampling.

LoRA layers (``fast_lora``): under autocast a layer's input needs no cast to its adapter's
float32 (PEFT's default, two copies of every input); and on a CPU each adapter's dropout draws
its mask from 64-bit random integers, four 15-bit draws each, where torch's ``bernoulli_``
draws one float per element: a fifth of a bfloat16 CPU step went to drawing dropout masks.
"""

from contextlib import AbstractContextManager, nullcontext
from typing import Any

import torch
from torch import nn

from openft.lm.numerics import Numerics

MASK_BITS = 15  # each mask element compares 15 random bits with the dropout probability


def loading_dtype(numerics: Numerics, *, trains_fully: bool) -> torch.dtype:
    """The dtype a run's starting model loads in: float32 where every weight trains (the master
    weights), else the computing dtype (a base under a LoRA adapter never trains)."""
    return torch.float32 if trains_fully else numerics.torch_dtype


def autocast(numerics: Numerics) -> AbstractContextManager:
    """Matmuls in bfloat16 where the run computes in it; nothing changes in float32. Without
    autocast's cache of weight casts: it lives as long as the context, here the whole run, so
    every step would compute with the weights as they were at the first."""
    if not numerics.bf16:
        return nullcontext()
    return torch.autocast(device_type=numerics.device_type, dtype=torch.bfloat16, cache_enabled=False)


class MaskDropout(nn.Module):
    """``nn.Dropout``: each element zeroed with probability ``p``, the others scaled by 1 / (1 - p),
    the identity in eval mode; its mask drawn from 64-bit random integers split into 16-bit words
    (15 bits of each compared with ``p``, which it rounds to a multiple of 2**-15). Seeded by
    torch's generator like ``nn.Dropout``, so a seed gives the same masks."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.threshold = round(p * (1 << MASK_BITS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.threshold == 0:
            return x
        n = x.numel()
        words = torch.empty((n + 3) // 4, dtype=torch.int64, device=x.device).random_()
        low_bits = words.view(torch.int16)[:n].view(x.shape) & ((1 << MASK_BITS) - 1)
        keep = low_bits >= self.threshold
        return x * keep * (1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


def fast_lora(model: nn.Module, numerics: Numerics) -> None:
    """Set up every LoRA layer of ``model`` for the run's numerics (see the module's text)."""
    for module in model.modules():
        layer: Any = module  # a PEFT LoRA layer: lora_dropout is a ModuleDict of its adapters
        if not isinstance(getattr(layer, "lora_dropout", None), nn.ModuleDict):
            continue
        if numerics.bf16:  # autocast casts the input for the adapter's matmuls
            layer.cast_input_dtype_enabled = False
        if numerics.device == "cpu":
            for name, dropout in layer.lora_dropout.items():
                if isinstance(dropout, nn.Dropout):
                    layer.lora_dropout[name] = MaskDropout(dropout.p).train(dropout.training)

"""Frozen bfloat16 linear layers on a CPU, with their weights packed once for oneDNN.

On a CPU, a bfloat16 ``nn.Linear`` hands oneDNN a weight in PyTorch's plain layout, and oneDNN
reorders it into its blocked layout (the bfloat16 pairs its dot-product instructions read) on
every call. With many rows (training, a long prefill) that reorder is a small part of the matrix
product; with one row (decoding a token) it is most of it. Measured on a 2-core AMD EPYC with
AVX-512 BF16, one thread: a 1536 x 576 layer takes 129 us for one row, 73 us with the weight packed
once; the 49k x 576 LM head 9.6 ms against 5.1; a SmolLM2-135M decode step 71 ms against 38. The
result is the same to the bit: the same oneDNN kernel runs on the same blocked weight.

``pack(model)`` gives every frozen bfloat16 ``nn.Linear`` on the CPU (not a subclass of it,
which keeps its own forward) a packed copy of its weight and the ``PackedLinear`` forward. It is
a second copy: the plain weight stays for everything else that reads it (a tied embedding, PEFT's
adapter code). The packed weight serves where autograd is off (serving, RFT sampling); with
gradients on, ``nn.Linear``'s own forward runs, as the packed op has no backward. A weight changed
in place since it was packed (a loaded state dict, merged adapter weights) is packed again before
use. Nothing is packed where oneDNN is absent or where its packed product is not bit-identical to
``nn.Linear``'s on a probe. ``OPENFT_PACKED_WEIGHTS=false`` keeps one copy.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

PROBE_ROWS = (1, 7)  # a decode step and a short prefill


class PackedLinear(nn.Linear):
    packed: torch.Tensor  # set by ``pack``
    stamp: tuple[int, int]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or x.dtype != self.weight.dtype or x.device.type != "cpu":
            return super().forward(x)
        if _stamp(self.weight) != self.stamp:
            _repack(self)
        return _product(x, self.packed, self.bias)


def pack(model: nn.Module) -> int:
    """Pack the frozen bfloat16 CPU linear layers of ``model`` (see the module text); the number
    of layers packed."""
    if not torch.backends.mkldnn.is_available():
        return 0
    # nn.Linear itself (or a layer packed before): a subclass keeps its own forward
    layers = [
        m
        for m in model.modules()
        if isinstance(m, nn.Linear) and type(m) in (nn.Linear, PackedLinear) and _packable(m.weight, m.bias)
    ]
    exact: dict[tuple[int, int], bool] = {}
    count = 0
    for layer in layers:
        shape = (layer.out_features, layer.in_features)
        if shape not in exact:
            exact[shape] = _exact(layer)
        if exact[shape]:
            layer.__class__ = PackedLinear
            _repack(cast(PackedLinear, layer))
            count += 1
    return count


def packed_bytes(model: nn.Module) -> int:
    """The memory the packed copies hold (the plain weights' size: oneDNN's blocks add a little)."""
    return sum(
        m.weight.numel() * m.weight.element_size() for m in model.modules() if isinstance(m, PackedLinear)
    )


def _packable(weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    frozen = not weight.requires_grad and (bias is None or not bias.requires_grad)
    return frozen and weight.dtype == torch.bfloat16 and weight.device.type == "cpu" and weight.dim() == 2


def _exact(layer: nn.Linear) -> bool:
    """Whether the packed product equals ``nn.Linear``'s to the bit on random rows."""
    generator = torch.Generator().manual_seed(0)
    with torch.inference_mode():
        try:
            packed = _packed(layer.weight)
            for rows in PROBE_ROWS:
                x = torch.randn(1, rows, layer.in_features, generator=generator).to(layer.weight.dtype)
                got = _product(x, packed, layer.bias)
                if not torch.equal(got, nn.functional.linear(x, layer.weight, layer.bias)):
                    return False
        except (RuntimeError, AttributeError):  # an op this build of PyTorch lacks
            return False
    return True


def _repack(layer: PackedLinear) -> None:
    with torch.no_grad():
        layer.packed = _packed(layer.weight)
    layer.stamp = _stamp(layer.weight)


def _packed(weight: torch.Tensor) -> torch.Tensor:
    """The weight in oneDNN's blocked layout (laid out for one row at a time: a decode step)."""
    return torch.ops.mkldnn._reorder_linear_weight(weight, 1)


def _product(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``x @ W.T + bias`` on the packed weight."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


def _stamp(weight: torch.Tensor) -> tuple[int, int]:
    """What changes when the weight does: its storage and its in-place version counter (which an
    inference tensor does not keep)."""
    return weight.data_ptr(), -1 if weight.is_inference() else weight._version

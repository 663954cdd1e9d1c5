"""A lean inference forward for PEFT's LoRA linear layers, on the adapters a server holds.

PEFT's ``lora.Linear.forward`` is written for every case at once (dropout, variants such as DoRA,
merged weights, training). ``LeanLinear`` computes what its single-adapter path does, the base
output promoted to the adapter's dtype plus ``scaling * (x @ A.T) @ B.T``, rounded back once, in
one fused ``addmm`` after the rank-r product and without the dropout and sub-module calls: on a
CPU core, decoding one token through a 576-wide layer, PEFT adds ~28 us to the base layer's ~33,
this ~22 (a few percent of a token's time on SmolLM2-135M; the per-op cost of PyTorch is most of
what is left).

The larger cost was in batches that mix adapters. PEFT's ``adapter_names`` argument walks every
module of the model twice per forward pass, to check the names and to register a hook on each
LoRA layer, and each layer then groups the rows again in Python: a two-row decode step on base +
adapter took 51-65 ms against 38 on one adapter. Here the rows' adapters come from a
``RowAdapters`` the layers share, grouped once per forward pass (40 ms). Each adapter's rows get
the same sum as in a batch on that adapter alone; PEFT's mixed path rounds each delta to the base
dtype before adding it instead (in bfloat16, up to one rounding step apart).

``lean(model, rows)`` makes the model's LoRA layers lean when all of them are plain: linear
layers whose every adapter is vanilla LoRA (no variant such as DoRA, no bias on B, dropout that is
the identity in eval), with weights in a dtype that holds the sum, as PEFT's promotion does. It
swaps the class of each ``peft.tuners.lora.Linear``, so PEFT's isinstance checks, adapter loading
and deleting keep working; a model with any other adapter layer keeps (or gets back) PEFT's
forward everywhere, and mixed batches take ``adapter_names``. Training, merged weights and extra
arguments take PEFT's own forward too.
"""

from __future__ import annotations

from typing import Any

import torch
from peft.tuners.lora.layer import Linear
from torch import nn


class RowAdapters:
    """Each row's adapter for a batch that mixes them, as index tensors per adapter name; None
    when the batch runs PEFT's active adapter (or none)."""

    def __init__(self) -> None:
        self.groups: dict[str, torch.Tensor] | None = None

    def set(self, names: list[str | None] | None, device: torch.device) -> None:
        if names is None:
            self.groups = None
            return
        rows: dict[str, list[int]] = {}
        for row, name in enumerate(names):
            if name is not None:
                rows.setdefault(name, []).append(row)
        self.groups = {name: torch.tensor(indices, device=device) for name, indices in rows.items()}


class LeanLinear(Linear):
    rows: RowAdapters  # set by ``lean``

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if args or kwargs or self.training or self.merged or torch.is_grad_enabled():
            return super().forward(x, *args, **kwargs)
        if self.disable_adapters:
            return self.base_layer(x)
        result = self.base_layer(x)
        groups = self.rows.groups
        if groups is None:
            for name in self.active_adapters:
                if name in self.lora_A:
                    result = self._add(result, x, name)
            return result
        for name, rows in groups.items():
            if name in self.lora_A:
                result.index_copy_(0, rows, self._add(result[rows], x[rows], name))
        return result

    def _add(self, result: torch.Tensor, x: torch.Tensor, name: str) -> torch.Tensor:
        """``result + scaling * B(A(x))``, summed in the adapter's dtype, returned in ``result``'s."""
        a, b = _weights(self, name)
        inputs = x.reshape(-1, x.shape[-1]).to(a.dtype)
        total = torch.addmm(
            result.reshape(-1, result.shape[-1]).to(a.dtype),
            inputs @ a.t(),
            b.t(),
            alpha=float(self.scaling[name]),
        )
        return total.to(result.dtype).view(result.shape)


def lean(model: nn.Module, rows: RowAdapters) -> bool:
    """Give the model's LoRA layers the lean forward, reading ``rows`` in mixed batches, if they
    are all plain; else give them all PEFT's. True when they are lean."""
    from peft.tuners.lora.layer import LoraLayer
    from peft.utils.other import AuxiliaryTrainingWrapper

    layers: list[Any] = [m for m in model.modules() if isinstance(m, (LoraLayer, AuxiliaryTrainingWrapper))]
    plain = all(type(layer) in (Linear, LeanLinear) and _plain(layer) for layer in layers)
    for layer in layers:
        if type(layer) in (Linear, LeanLinear):
            layer.__class__ = LeanLinear if plain else Linear
            layer.rows = rows
    return plain


def _plain(layer: Any) -> bool:
    """Every adapter of the layer is vanilla LoRA whose dtype holds the sum with the base output."""
    base = layer.get_base_layer().weight.dtype
    for name in layer.lora_A:
        a, b = _weights(layer, name)
        if (
            name in layer.lora_variant
            or layer.lora_B[name].bias is not None
            or not isinstance(layer.lora_dropout[name], (nn.Dropout, nn.Identity))
            or not a.dtype == b.dtype == torch.promote_types(base, a.dtype)
        ):
            return False
    return True


def _weights(layer: Any, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The adapter's A and B matrices in ``layer``."""
    return layer.lora_A[name].weight, layer.lora_B[name].weight

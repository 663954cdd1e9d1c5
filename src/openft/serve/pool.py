"""ModelPool: the models loaded in this process, and leases on them for one job at a time.

Each configured base model is loaded once (on first use) with the training code's loader, so
it has the same pad token and chat template the adapters were trained with. Fine-tuned LoRA
models become adapters on their base (see ``AdapterSet``); fully fine-tuned weights are loaded
on their own and kept in a small LRU. A ``Lease`` pins what a job uses until it ends.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from openft import heap
from openft.catalog import ModelTarget
from openft.lm import numerics, packed_linear
from openft.lm.constraints import GrammarCompiler
from openft.serve.adapters import AdapterSet
from openft.serve.lru import PinnedLRU

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase
    from transformers.cache_utils import Cache

MAX_FULL_MODELS = 2


@dataclass
class LoadedModel:
    tokenizer: PreTrainedTokenizerBase
    adapters: AdapterSet
    stop_ids: frozenset[int]
    context_length: int
    vocab_size: int
    device: torch.device
    grammar: GrammarCompiler = field(repr=False)
    cache_arg: str = "cache"  # "past_key_values" before transformers renamed it

    @torch.inference_mode()
    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        position_ids: torch.Tensor,
        cache: Cache | None,
        adapters: list[str | None],
    ) -> tuple[torch.Tensor, Cache]:
        """One step for a batch: the last position's logits (float32, on the CPU) and the updated cache."""
        extra = {**self.adapters.prepare(adapters, input_ids.device), self.cache_arg: cache}
        output = self.adapters.module(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        return output.logits[:, -1, :].float().cpu(), output[self.cache_arg]


@dataclass
class Lease:
    model: LoadedModel
    adapter: str | None
    release: Callable[[], None]


class ModelPool:
    def __init__(
        self,
        data_dir: Path,
        *,
        max_adapters: int,
        device: str | None = None,
        compute_dtype: str = "auto",
        packed_weights: bool = True,
    ):
        self.data_dir = Path(data_dir)
        self.max_adapters = max_adapters
        self.packed_weights = packed_weights
        chosen = numerics.choose(compute_dtype, device=device)
        self.device = torch.device(device or chosen.device)
        self.dtype = chosen.torch_dtype
        self.bases: dict[str, LoadedModel] = {}
        self._full: PinnedLRU[str, LoadedModel] = PinnedLRU(MAX_FULL_MODELS, lambda _key, _model: None)

    def lease(self, target: ModelTarget) -> Lease:
        """``target``'s model, pinned until the lease's release. A lease that loaded something (or
        evicted something for it) settles the heap after it (``openft.heap``), so that the
        collector's full passes skip the model's objects from then on."""
        resident = self._resident()
        lease = self._lease(target)
        if self._resident() != resident:
            heap.settle()
        return lease

    def _resident(self) -> tuple[frozenset[str], ...]:
        """The base models, fully fine-tuned models and adapters loaded now."""
        adapters = (adapter for model in self.bases.values() for adapter in model.adapters.loaded())
        return frozenset(self.bases), frozenset(self._full.keys()), frozenset(adapters)

    def _lease(self, target: ModelTarget) -> Lease:
        weights_dir, adapter_dir = target.weights_dir, target.adapter_dir
        if weights_dir is not None:
            key = str(weights_dir)
            model = self._full.acquire(key, lambda: self._load(weights_dir, target))
            return Lease(model, None, lambda: self._full.release(key))
        model = self.base(target)
        if adapter_dir is None:
            return Lease(model, None, lambda: None)
        name = model.adapters.acquire(adapter_dir)
        return Lease(model, name, lambda: model.adapters.release(adapter_dir))

    def base(self, target: ModelTarget) -> LoadedModel:
        if target.base_id not in self.bases:
            from openft.lm.loading import resolve_model_path

            self.bases[target.base_id] = self._load(
                resolve_model_path(target.base_source, self.data_dir), target
            )
        return self.bases[target.base_id]

    def _load(self, path: str | Path, target: ModelTarget) -> LoadedModel:
        from openft.lm.loading import load_model_and_tokenizer, sequence_limit, stop_token_ids

        model, tokenizer = load_model_and_tokenizer(path, dtype=self.dtype)
        # transformers wraps Module.to with functools.wraps, which mypy types as unbound (self first)
        model.to(self.device).eval().requires_grad_(False)  # type: ignore[arg-type]
        if self.packed_weights:  # a served model's weights never change: pack them once (CPU, bfloat16)
            packed_linear.pack(model)
        stops = stop_token_ids(tokenizer, model)
        grammar = GrammarCompiler.for_model(tokenizer, model, stops)
        return LoadedModel(
            tokenizer=tokenizer,
            adapters=AdapterSet(model, self.max_adapters),
            stop_ids=stops,
            context_length=sequence_limit(model, target.context_length),
            vocab_size=grammar.vocab_size,
            device=self.device,
            grammar=grammar,
            cache_arg="cache"
            if "cache" in inspect.signature(model.forward).parameters
            else "past_key_values",
        )

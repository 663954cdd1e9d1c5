"""AdapterSet: LoRA adapters swapped on one loaded base model, never a copy of the base.

The first adapter wraps the base in a ``PeftModel``; later ones are loaded beside it by name,
kept in a ``PinnedLRU`` (adapters in use are never evicted) and deleted when they fall out.
A batch on one adapter runs it as PEFT's active adapter, a batch on the base model runs with
adapter layers disabled, and only a batch that mixes them names each row's adapter. The LoRA
layers run a lean inference forward while every adapter loaded is plain LoRA (``lora_layers``),
and a mixed batch then hands them its rows' adapters directly (``RowAdapters``); otherwise it
takes PEFT's ``adapter_names``, whose hooks cost a forward pass more than the adapters' math.
Switching costs a pass over the model's layers, so the set remembers what is switched on and
switches only when a batch needs something else.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from openft.serve.lru import PinnedLRU

if TYPE_CHECKING:
    import torch

    from openft.serve.lora_layers import RowAdapters

BASE = "__base__"  # PEFT's name for "no adapter" in a mixed batch
MIXED = "__mixed__"


class AdapterSet:
    def __init__(self, model, capacity: int):
        self.module = model  # the base model, then the PeftModel wrapping it
        self.wrapped = False
        self._lru: PinnedLRU[str, str] = PinnedLRU(capacity, self._unload)  # directory -> adapter name
        self._loaded = 0
        self._mode: str | None = None  # what the layers run now: an adapter's name, BASE or MIXED
        self._rows: RowAdapters | None = None  # each row's adapter in a mixed batch, once the layers are lean

    def acquire(self, directory: Path) -> str:
        """The adapter's name, loading it if needed; pinned until ``release(directory)``."""
        return self._lru.acquire(str(directory), lambda: self._load(directory))

    def release(self, directory: Path) -> None:
        self._lru.release(str(directory))

    def loaded(self) -> list[str]:
        """Adapter directories in memory, least recently used first."""
        return self._lru.keys()

    def prepare(self, adapters: list[str | None], device: torch.device) -> dict:
        """Switch the layers for a batch whose rows use ``adapters`` (None: the base model);
        returns the extra arguments its forward pass needs."""
        if not self.wrapped:
            return {}
        names = set(adapters)
        mixed = len(names) > 1
        if self._rows is not None:
            self._rows.set(adapters if mixed else None, device)
        if mixed:
            self._switch(MIXED)
            return {} if self._rows is not None else {"adapter_names": [name or BASE for name in adapters]}
        self._switch(names.pop() or BASE)
        return {}

    def _switch(self, mode: str) -> None:
        if mode == self._mode:
            return
        layers = self.module.base_model
        if mode == BASE:
            layers.disable_adapter_layers()
        else:
            layers.enable_adapter_layers()
            if mode != MIXED:
                self.module.set_adapter(mode)
        self._mode = mode

    def _load(self, directory: Path) -> str:
        from peft import PeftModel

        _check_files(directory)  # before PEFT touches the base model's layers
        self._loaded += 1
        name = f"adapter_{self._loaded}"
        if not self.wrapped:
            self.module = PeftModel.from_pretrained(
                self.module, str(directory), adapter_name=name, is_trainable=False
            )
            self.wrapped = True
        else:
            try:
                self.module.load_adapter(str(directory), adapter_name=name, is_trainable=False)
            except Exception:
                if name in self.module.peft_config:
                    self._unload(str(directory), name)
                raise
        self.module.eval()
        self._mode = None  # loading may change PEFT's active adapter
        self._relean()
        return name

    def _unload(self, _directory: str, name: str) -> None:
        with warnings.catch_warnings():  # PEFT warns when the deleted adapter was its "active" one
            warnings.simplefilter("ignore", UserWarning)
            self.module.delete_adapter(name)
        self._mode = None
        self._relean()

    def _relean(self) -> None:
        """Lean layers (and rows in place of PEFT's ``adapter_names``) while every adapter is plain LoRA."""
        from openft.serve import lora_layers

        rows = self._rows or lora_layers.RowAdapters()
        self._rows = rows if lora_layers.lean(self.module, rows) else None


def _check_files(directory: Path) -> None:
    """Read the adapter's config and weight index, so a broken adapter fails before it is injected."""
    from peft import PeftConfig
    from safetensors import safe_open

    PeftConfig.from_pretrained(str(directory))
    weights = Path(directory) / "adapter_model.safetensors"
    if weights.exists():
        with safe_open(str(weights), framework="pt") as handle:
            list(handle.keys())

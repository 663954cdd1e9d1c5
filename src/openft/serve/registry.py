"""Registry: a model name -> what to load to answer with it (pure Python, no ML imports).

A base model or an OpenAI alias resolves through the catalog to a configured base model. An
``ft:`` name (a fine-tuned model or a checkpoint ``...:ckpt-step-N``) resolves through the store,
within the caller's project: a LoRA adapter directory on top of its base model, or full weights
when the base was fully fine-tuned. Anything else, another project's model included, is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openft.catalog import Catalog
from openft.config import Settings
from openft.errors import model_not_found
from openft.storage import Storage
from openft.store import models as model_store

ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class ModelTarget:
    name: str  # as the caller wrote it; responses echo it
    base_id: str  # the configured base model
    base_source: str  # "builtin", a hub id or a local path
    context_length: int
    adapter_dir: Path | None = None  # a PEFT LoRA adapter on the base model
    weights_dir: Path | None = None  # full fine-tuned weights, loaded on their own

    @property
    def is_fine_tuned(self) -> bool:
        return self.adapter_dir is not None or self.weights_dir is not None


class Registry:
    def __init__(self, settings: Settings, catalog: Catalog, storage: Storage):
        self.settings, self.catalog, self.storage = settings, catalog, storage

    def resolve(self, session, *, project_id: str, name: str) -> ModelTarget:
        resolved = self.catalog.resolve(name)
        if resolved is not None:
            return self._base(name, resolved.base)
        row = (
            model_store.get_model(session, project_id=project_id, model_id=name)
            if name.startswith("ft:")
            else None
        )
        if row is None or row.base_model not in self.settings.base_models:
            raise model_not_found(name)
        directory = self.storage.path(row.path)
        if not directory.is_dir():
            raise model_not_found(name)
        base = self._base(name, row.base_model)
        if (directory / ADAPTER_CONFIG).is_file():
            return ModelTarget(**{**base.__dict__, "adapter_dir": directory})
        return ModelTarget(**{**base.__dict__, "weights_dir": directory})

    def _base(self, name: str, base_id: str) -> ModelTarget:
        config = self.settings.base_models[base_id]
        return ModelTarget(
            name=name, base_id=base_id, base_source=config.source, context_length=config.context_length
        )

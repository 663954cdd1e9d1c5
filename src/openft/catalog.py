"""Which models exist and what to load for each: the one resolver from a model name to weights.

A base model or an OpenAI alias resolves through the configuration to a configured base model
(``Catalog.resolve``). An ``ft:`` name (a fine-tuned model or a checkpoint ``...:ckpt-step-N``)
resolves through the store, within the caller's project or shared with it by a checkpoint
permission, to a LoRA adapter directory on its configured base, or to full weights when the base is
fully fine-tuned (``Catalog.locate``).
Serving answers with the target; training starts from it (continuing an ``ft:`` model trains its
adapter or weights further). Pure Python: reads the configuration, the store and the data dir.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from openft.config import BaseModelConfig, Settings
from openft.storage import Storage
from openft.store import permissions as permission_store

ADAPTER_CONFIG = "adapter_config.json"  # what PEFT writes beside a LoRA adapter


class ModelUnavailable(Exception):
    """A model name that resolves to nothing loadable (the message is meant for the user)."""


@dataclass(frozen=True)
class ResolvedBase:
    shown: str  # what the job's `model` says: the dated snapshot, or the base id itself
    base: str  # the configured base model id training loads


@dataclass(frozen=True)
class ModelTarget:
    """What to load for a model name: a configured base, with an adapter or as full weights."""

    name: str  # as the caller wrote it; responses echo it
    base_id: str  # the configured base model (a key of settings.base_models)
    base_source: str  # "builtin", a hub id or a local path
    context_length: int  # the configured sequence limit (clamped to the model's window on load)
    full_finetune: bool = False  # the base is configured for full fine-tuning
    adapter_dir: Path | None = None  # a PEFT LoRA adapter on the base model
    weights_dir: Path | None = None  # full fine-tuned weights, loaded on their own
    project_id: str | None = None  # the project owning an ft: model (the caller's, or one sharing it)

    @property
    def is_fine_tuned(self) -> bool:
        return self.adapter_dir is not None or self.weights_dir is not None

    @property
    def source(self) -> str:
        """What to load first: the full weights when there are any, else the base model."""
        return str(self.weights_dir) if self.weights_dir is not None else self.base_source

    @property
    def trains_fully(self) -> bool:
        """Training it updates every weight (and saves full weights) rather than a LoRA adapter."""
        return self.full_finetune or self.weights_dir is not None


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    created: int
    owned_by: str


class Catalog:
    def __init__(self, settings: Settings, storage: Storage):
        self.base_models = settings.base_models
        self.aliases = settings.model_aliases
        self.storage = storage

    def resolve(self, name: str) -> ResolvedBase | None:
        """Follow aliases to a base model; the job shows the last name before the base id."""
        chain = [name]
        while chain[-1] not in self.base_models:
            target = self.aliases.get(chain[-1])
            if target is None or target in chain:
                return None
            chain.append(target)
        shown = chain[-2] if len(chain) >= 2 else chain[-1]
        return ResolvedBase(shown=shown, base=chain[-1])

    def locate(self, session: Session, *, project_id: str, name: str) -> ModelTarget:
        """What to load for ``name`` in ``project_id``; ModelUnavailable (with the reason) when
        nothing can be: an unknown name, another project's model not shared with this one, a retired
        base, weights gone."""
        resolved = self.resolve(name)
        if resolved is not None:
            return self.base_target(name, resolved.base)
        row = None
        if _is_ft(name):
            row = permission_store.visible_model(session, project_id=project_id, model_id=name)
        if row is None:
            raise ModelUnavailable(f"The model {name} does not exist.")
        if row.base_model not in self.base_models:
            raise ModelUnavailable(f"The base model {row.base_model} of {name} is no longer configured.")
        directory = self.storage.path(row.path)
        if not directory.is_dir():
            raise ModelUnavailable(f"The weights of {name} are no longer available.")
        base = replace(self.base_target(name, row.base_model), project_id=row.project_id)
        if (directory / ADAPTER_CONFIG).is_file():
            return replace(base, adapter_dir=directory)
        return replace(base, weights_dir=directory)

    def base_target(self, name: str, base_id: str) -> ModelTarget:
        config: BaseModelConfig = self.base_models[base_id]
        return ModelTarget(
            name=name,
            base_id=base_id,
            base_source=config.source,
            context_length=config.context_length,
            full_finetune=config.full_finetune,
        )

    def entries(self) -> list[CatalogEntry]:
        out = [CatalogEntry(name, cfg.created, cfg.owned_by) for name, cfg in self.base_models.items()]
        for alias in self.aliases:
            resolved = self.resolve(alias)
            if resolved is not None:
                out.append(CatalogEntry(alias, self.base_models[resolved.base].created, "system"))
        return out

    def entry(self, name: str) -> CatalogEntry | None:
        return next((entry for entry in self.entries() if entry.id == name), None)


def _is_ft(name: str) -> bool:
    return name.startswith("ft:")

"""Which models exist: configured base models and the OpenAI names aliased to them.

Fine-tuned models and checkpoints live in the store (``store.models``); this module knows only
configuration and never touches the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from openft.config import Settings


@dataclass(frozen=True)
class ResolvedBase:
    shown: str  # what the job's `model` says: the dated snapshot, or the base id itself
    base: str  # the configured base model id training loads


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    created: int
    owned_by: str


class Catalog:
    def __init__(self, settings: Settings):
        self.base_models = settings.base_models
        self.aliases = settings.model_aliases

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

    def entries(self) -> list[CatalogEntry]:
        out = [CatalogEntry(name, cfg.created, cfg.owned_by) for name, cfg in self.base_models.items()]
        for alias in self.aliases:
            resolved = self.resolve(alias)
            if resolved is not None:
                out.append(CatalogEntry(alias, self.base_models[resolved.base].created, "system"))
        return out

    def entry(self, name: str) -> CatalogEntry | None:
        return next((entry for entry in self.entries() if entry.id == name), None)

    def is_fine_tuned(self, name: str) -> bool:
        return name.startswith("ft:")

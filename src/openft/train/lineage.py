"""Lineage: the configured base model a job trains on, and the fine-tuned model it continues.

A job's base model is a configured base id, or an ``ft:`` model of the job's project (a
fine-tuned model or one of its checkpoints). Continuing one trains its LoRA adapter further on
the same configured base, or its full weights when it has no adapter, so the new model is
again one adapter on that base (or full weights) and serving loads it like any other; the new
model records the configured base id. Pure Python: reads the store and the data dir only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from openft.config import Settings
from openft.storage import Storage
from openft.store import models as model_store

ADAPTER_CONFIG = "adapter_config.json"  # what PEFT writes beside a LoRA adapter


class ModelUnavailable(Exception):
    """The job's base model cannot be trained from any more (message meant for the user)."""


@dataclass(frozen=True)
class Lineage:
    base_id: str  # the configured base model (a key of settings.base_models)
    source: str  # what to load: the base's source, or a parent's full weights directory
    full_finetune: bool  # train every weight (and save full weights) rather than a LoRA adapter
    adapter_dir: Path | None = None  # a parent's LoRA adapter, trained further


def trace(settings: Settings, storage: Storage, session, *, project_id: str, base_model: str) -> Lineage:
    """Where a job with ``base_model`` starts from; ModelUnavailable when it no longer can."""
    if not base_model.startswith("ft:"):
        return configured(settings, base_model)
    parent = model_store.get_model(session, project_id=project_id, model_id=base_model)
    if parent is None:
        raise ModelUnavailable(f"The model {base_model} no longer exists.")
    base = configured(settings, parent.base_model)
    directory = storage.path(parent.path)
    if not directory.is_dir():
        raise ModelUnavailable(f"The weights of {base_model} are no longer available.")
    if (directory / ADAPTER_CONFIG).is_file():
        return Lineage(base.base_id, base.source, base.full_finetune, adapter_dir=directory)
    return Lineage(base.base_id, str(directory), full_finetune=True)


def configured(settings: Settings, base_id: str) -> Lineage:
    config = settings.base_models.get(base_id)
    if config is None:
        raise ModelUnavailable(f"The base model {base_id} is no longer configured.")
    return Lineage(base_id, config.source, config.full_finetune)

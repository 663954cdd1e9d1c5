"""Tiny fine-tuned models for the serving tests: LoRA adapters and full weights on the tiny
random model, registered in a server's store as training registers them."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from openft.config import BaseModelConfig, KeyGrant, Settings
from openft.store import models as model_store
from openft.store.tables import ModelRow
from support.server import RunningServer

KEYS = {
    "sk-a": KeyGrant(organization="org-acme", project="proj_a"),
    "sk-b": KeyGrant(organization="org-acme", project="proj_b"),
}


@dataclass(frozen=True)
class TinyModels:
    base: str = "tiny"
    alias: str = "gpt-tiny"
    a: str = "ft:tiny:acme::AaAa1111"
    b: str = "ft:tiny:acme::BbBb2222"
    checkpoint: str = "ft:tiny:acme::AaAa1111:ckpt-step-2"
    full: str = "ft:tiny:acme::FuLl3333"
    other_project: str = "ft:tiny:acme::OtHr4444"


MODELS = TinyModels()


def save_adapter(tiny_model_dir: Path, path: Path, seed: int) -> Path:
    """A LoRA adapter with random (non-zero) weights, saved with its tokenizer as training saves it."""
    import torch
    from peft import LoraConfig, get_peft_model

    from openft.lm.loading import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(tiny_model_dir)
    torch.manual_seed(seed)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False, task_type="CAUSAL_LM"
    )
    get_peft_model(model, config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def save_full_model(tiny_model_dir: Path, path: Path, seed: int) -> Path:
    import torch

    from openft.lm.loading import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(tiny_model_dir)
    torch.manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.5)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def register(
    server: RunningServer, name: str, source: Path, *, project: str = "proj_a", relative: str | None = None
) -> None:
    relative = relative or f"jobs/{name.split(':')[4]}/{name.rsplit(':', 1)[-1]}"
    target = server.settings.data_dir / relative
    if not target.exists():
        shutil.copytree(source, target)
    with server.services.db.write() as session:
        model_store.add_model(
            session,
            row=ModelRow(
                id=name,
                project_id=project,
                owned_by="org-acme",
                job_id="ftjob-test",
                created_at=1,
                base_model="tiny",
                path=relative,
            ),
        )


def tiny_settings(data_dir: Path, tiny_model_dir: Path, **overrides) -> Settings:
    return Settings(
        data_dir=data_dir,
        validator_poll_seconds=0.2,
        embedded_worker=False,
        api_keys=KEYS,
        base_models={"tiny": BaseModelConfig(source=str(tiny_model_dir), context_length=256)},
        model_aliases={"gpt-tiny": "tiny"},
        # The tiny random model's greedy tokens are near ties, and bfloat16 rounds each batch shape
        # its own way: tests that want a request's exact tokens alone and in a batch use float32
        # (bfloat16 training is tested in tests/train/test_precision.py, and end to end on the
        # built-in model).
        **{"compute_dtype": "float32", **overrides},
    )

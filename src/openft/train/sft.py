"""SFT: supervised fine-tuning of a causal LM on chat or prompt/completion JSONL, with TRL.

``train_sft`` reads top to bottom: load the model and tokenizer, tokenize the files (labels
built here, so TRL neither re-templates nor re-masks them), wrap the model with LoRA unless a
full fine-tune is asked for, train with TRL's SFTTrainer, report every step through the
Reporter, checkpoint at each epoch end, and save the final adapter or weights.
"""

from dataclasses import dataclass, field
from pathlib import Path

import torch
from datasets import Dataset
from peft import LoraConfig
from trl import SFTConfig, SFTTrainer

from openft.train import checkpoints
from openft.train.callbacks import ReporterCallback
from openft.train.collator import Collator
from openft.train.data import TokenizedData, read_jsonl, tokenize_rows
from openft.train.hparams import learning_rate, plan_steps, resolve_hyperparameters
from openft.train.models import context_length, load_model_and_tokenizer, resolve_model_path
from openft.train.reporter import Reporter
from openft.train.validation import Validator

DEFAULT_MAX_LENGTH = 2048
LORA_BASE_LEARNING_RATE = 2e-4
FULL_BASE_LEARNING_RATE = 2e-5
VALIDATIONS_PER_RUN = 20


@dataclass
class LoraSettings:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class SFTSpec:
    model_source: str  # "builtin", a hub id or a local path
    data_dir: Path  # where the built-in model is cached (models/)
    output_dir: Path  # gets checkpoints/step-N/ and final/
    training_file: Path
    validation_file: Path | None = None
    fmt: str = "chat"  # "chat" | "completion"
    hyperparameters: dict = field(default_factory=dict)  # resolved; any "auto" left is resolved here
    learning_rate: float | None = None  # absolute; default base_learning_rate × multiplier
    base_learning_rate: float | None = None  # default 2e-4 for LoRA, 2e-5 for a full fine-tune
    seed: int = 0
    full_finetune: bool = False
    max_length: int | None = None  # default min(model context, 2048)
    lora: LoraSettings = field(default_factory=LoraSettings)
    valid_interval: int | None = None  # steps between validation mini-batches; default ~20 per run
    resume_from: Path | None = None  # a Trainer state saved when the job was paused


@dataclass
class SFTResult:
    final_dir: Path | None  # None when the run was cancelled or paused
    trained_tokens: int  # tokens of all training examples × n_epochs
    steps: int  # steps run
    metrics: dict  # the last step's metrics
    hyperparameters: dict  # as resolved for the run
    stopped: str | None = None  # "cancel" or "pause" when the reporter stopped the run


def train_sft(spec: SFTSpec, reporter: Reporter) -> SFTResult:
    model_path = resolve_model_path(spec.model_source, Path(spec.data_dir))
    model, tokenizer = load_model_and_tokenizer(model_path)
    max_length = spec.max_length or min(context_length(model), DEFAULT_MAX_LENGTH)
    train = _tokenize_file(spec.training_file, tokenizer, spec.fmt, max_length, reporter, "training")
    valid = _tokenize_file(spec.validation_file, tokenizer, spec.fmt, max_length, reporter, "validation")

    hparams = resolve_hyperparameters(spec.hyperparameters, n_examples=len(train.examples))
    steps_per_epoch, total_steps = plan_steps(len(train.examples), hparams["batch_size"], hparams["n_epochs"])
    collator = Collator(pad_token_id=tokenizer.pad_token_id)
    validator = Validator(valid.examples, batch_size=hparams["batch_size"], collator=collator) if valid else None
    callback = ReporterCallback(
        reporter,
        steps_per_epoch=steps_per_epoch,
        n_epochs=hparams["n_epochs"],
        save_checkpoint=lambda m, step: checkpoints.save_checkpoint(m, tokenizer, _checkpoint_root(spec), step),
        validator=validator,
        valid_interval=spec.valid_interval or max(1, total_steps // VALIDATIONS_PER_RUN),
    )
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(spec, hparams),
        data_collator=collator,
        train_dataset=Dataset.from_list(train.examples),
        processing_class=tokenizer,
        peft_config=None if spec.full_finetune else _lora_config(spec.lora),
        callbacks=[callback],
    )
    trainer.train(resume_from_checkpoint=str(spec.resume_from) if spec.resume_from else None)

    final_dir = None if callback.stopped else checkpoints.save_model(trainer.model, tokenizer, _final_dir(spec))
    return SFTResult(
        final_dir=final_dir,
        trained_tokens=train.n_tokens * hparams["n_epochs"],
        steps=callback.last_step,
        metrics=callback.last_metrics,
        hyperparameters=hparams,
        stopped=callback.stopped,
    )


def _tokenize_file(
    path: Path | None, tokenizer, fmt: str, max_length: int, reporter: Reporter, name: str
) -> TokenizedData | None:
    if path is None:
        return None
    data = tokenize_rows(read_jsonl(path), tokenizer, fmt=fmt, max_length=max_length)
    if data.n_truncated:
        reporter.on_warning(
            f"{data.n_truncated} {name} example(s) are longer than {max_length} tokens "
            "and were truncated to fit"
        )
    return data


def _sft_config(spec: SFTSpec, hparams: dict) -> SFTConfig:
    on_gpu = torch.cuda.is_available()
    return SFTConfig(
        output_dir=str(spec.output_dir),
        per_device_train_batch_size=hparams["batch_size"],
        num_train_epochs=hparams["n_epochs"],
        learning_rate=_learning_rate(spec, hparams),
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        seed=spec.seed,
        data_seed=spec.seed,
        full_determinism=not on_gpu,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        fp16=False,
        activation_checkpointing=False,
        logging_strategy="steps",
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=on_gpu,
        max_length=None,  # examples are truncated (and counted) in data.py
        packing=False,
        dataset_kwargs={"skip_prepare_dataset": True},
    )


def _learning_rate(spec: SFTSpec, hparams: dict) -> float:
    if spec.learning_rate is not None:
        return spec.learning_rate
    default = FULL_BASE_LEARNING_RATE if spec.full_finetune else LORA_BASE_LEARNING_RATE
    return learning_rate(hparams, spec.base_learning_rate or default)


def _lora_config(lora: LoraSettings) -> LoraConfig:
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def paused_state(output_dir: Path) -> Path | None:
    """The newest Trainer state a pause left in ``output_dir`` (``checkpoint-N``), if any."""
    states = [p for p in Path(output_dir).glob("checkpoint-*") if p.name.split("-")[-1].isdigit()]
    return max(states, key=lambda p: int(p.name.split("-")[-1]), default=None)


def _checkpoint_root(spec: SFTSpec) -> Path:
    return Path(spec.output_dir) / "checkpoints"


def _final_dir(spec: SFTSpec) -> Path:
    return Path(spec.output_dir) / "final"

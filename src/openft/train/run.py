"""Run: the steps SFT and DPO share around their TRL trainer.

Load the model to train (a base model, or a parent ft: model's base with its LoRA adapter made
trainable again), tokenize the training and validation files, the Trainer arguments and LoRA
settings both methods use, the callback that reports to the Reporter, and training to its end:
resume a paused state, save the final adapter or weights, and sum the run up.
"""

from collections.abc import Callable
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel

from openft.train import checkpoints
from openft.train.callbacks import ReporterCallback
from openft.train.data import TokenizedData, read_jsonl
from openft.train.hparams import learning_rate, plan_steps
from openft.train.models import context_length, load_model_and_tokenizer, resolve_model_path
from openft.train.reporter import Reporter
from openft.train.spec import TrainResult, TrainSpec, checkpoint_root, final_dir
from openft.train.validation import Validator

DEFAULT_MAX_LENGTH = 2048
LORA_BASE_LEARNING_RATE = 2e-4
FULL_BASE_LEARNING_RATE = 2e-5
VALIDATIONS_PER_RUN = 20

Tokenize = Callable[[list[dict]], TokenizedData]


def load_model(spec: TrainSpec) -> tuple[object, object, int]:
    """(model, tokenizer, max_length): the base or parent model, with a parent's adapter trainable again."""
    model, tokenizer = load_model_and_tokenizer(resolve_model_path(spec.model_source, Path(spec.data_dir)))
    max_length = spec.max_length or min(context_length(model), DEFAULT_MAX_LENGTH)
    if spec.adapter_dir is not None:
        model = PeftModel.from_pretrained(model, str(spec.adapter_dir), is_trainable=True)
        if spec.full_finetune:  # the base is now fully fine-tuned: fold the adapter into its weights
            model = model.merge_and_unload()
    return model, tokenizer, max_length


def tokenize_files(spec: TrainSpec, tokenize: Tokenize, reporter: Reporter, max_length: int):
    """(training, validation or None) tokenized; truncated examples are reported as warnings."""
    return (
        _tokenize_file(spec.training_file, tokenize, reporter, "training", max_length),
        _tokenize_file(spec.validation_file, tokenize, reporter, "validation", max_length),
    )


def _tokenize_file(path: Path | None, tokenize: Tokenize, reporter: Reporter, name: str, max_length: int):
    if path is None:
        return None
    data = tokenize(read_jsonl(path))
    if data.n_truncated:
        reporter.on_warning(
            f"{data.n_truncated} {name} example(s) are longer than {max_length} tokens and were truncated to fit"
        )
    return data


def trainer_arguments(spec: TrainSpec, hparams: dict) -> dict:
    """The TrainingArguments every method's TRL config (SFTConfig, DPOConfig) gets."""
    on_gpu = torch.cuda.is_available()
    return dict(
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
    )


def _learning_rate(spec: TrainSpec, hparams: dict) -> float:
    if spec.learning_rate is not None:
        return spec.learning_rate
    default = FULL_BASE_LEARNING_RATE if spec.full_finetune else LORA_BASE_LEARNING_RATE
    return learning_rate(hparams, spec.base_learning_rate or default)


def peft_config(spec: TrainSpec, model) -> LoraConfig | None:
    """A fresh LoRA adapter; None for a full fine-tune or when a parent's adapter is trained further."""
    if spec.full_finetune or isinstance(model, PeftModel):
        return None
    lora = spec.lora
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def reporter_callback(
    spec: TrainSpec,
    reporter: Reporter,
    tokenizer,
    hparams: dict,
    n_examples: int,
    *,
    validator: Validator | None,
    method: str,
) -> ReporterCallback:
    """The callback reporting every step, checkpointing each epoch end, and honouring cancel and pause."""
    steps_per_epoch, total_steps = plan_steps(n_examples, hparams["batch_size"], hparams["n_epochs"])
    return ReporterCallback(
        reporter,
        steps_per_epoch=steps_per_epoch,
        n_epochs=hparams["n_epochs"],
        save_checkpoint=lambda model, step: checkpoints.save_checkpoint(
            model, tokenizer, checkpoint_root(spec), step
        ),
        validator=validator,
        valid_interval=spec.valid_interval or max(1, total_steps // VALIDATIONS_PER_RUN),
        method=method,
    )


def train_to_end(
    trainer, callback: ReporterCallback, spec: TrainSpec, tokenizer, train: TokenizedData, hparams: dict
) -> TrainResult:
    """Train (from the paused state when there is one), then save the final model unless stopped."""
    trainer.train(resume_from_checkpoint=str(spec.resume_from) if spec.resume_from else None)
    final = None if callback.stopped else checkpoints.save_model(trainer.model, tokenizer, final_dir(spec))
    return TrainResult(
        final_dir=final,
        trained_tokens=train.n_tokens * hparams["n_epochs"],
        steps=callback.last_step,
        metrics=callback.last_metrics,
        hyperparameters=hparams,
        stopped=callback.stopped,
    )

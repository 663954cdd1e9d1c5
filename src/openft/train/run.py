"""Run: the steps SFT, DPO and RFT share around their TRL trainer.

Load the model to train (a base model, or a parent ft: model's base with its LoRA adapter made
trainable again), tokenize the training and validation files (read by the same JSONL reader
that validated them), the Trainer arguments and LoRA settings both methods use, the callback
that reports to the Reporter, and training to its end: resume from a saved state (states.py),
keep saving states as the run goes, save the final adapter or weights, and sum the run up.
Every number of the run comes from ``spec.plan``.
"""

from collections.abc import Callable
from pathlib import Path

from peft import LoraConfig, PeftModel
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from openft.datasets.jsonl import read_objects
from openft.lm import fused_kernels, numerics
from openft.lm.loading import load_model_and_tokenizer, resolve_model_path, sequence_limit
from openft.lm.numerics import Numerics
from openft.train import checkpoints, precision
from openft.train.callbacks import ReporterCallback
from openft.train.data import TokenizedData
from openft.train.evaluation import Validator
from openft.train.reporter import Reporter, long_step
from openft.train.spec import TrainResult, TrainSpec, checkpoint_root, final_dir, scratch_dir, states_root

# The LoRA adapter every fresh job trains: rank 8 on every linear layer.
LORA_RANK, LORA_ALPHA, LORA_DROPOUT, LORA_TARGETS = 8, 16, 0.05, "all-linear"

Tokenize = Callable[[list[dict]], TokenizedData]


def load_model(
    spec: TrainSpec, reporter: Reporter
) -> tuple[PreTrainedModel | PeftModel, PreTrainedTokenizerBase, int]:
    """(model, tokenizer, max_length): the base or parent model, with a parent's adapter trainable again
    (and Liger's kernels on a GPU: lm/fused_kernels.py, named in an event).
    A base under a LoRA adapter never trains: it is held in the computing dtype (precision.py)."""
    target = spec.model
    dtype = precision.loading_dtype(numerics_of(spec), trains_fully=target.trains_fully)
    with long_step(reporter, _loading(spec)):
        path = resolve_model_path(target.source, Path(spec.data_dir))
        base, tokenizer = load_model_and_tokenizer(path, dtype=dtype)
        max_length = sequence_limit(base, target.context_length)
        fused = fused_kernels.apply(base, numerics_of(spec), enabled=spec.fused_kernels)  # before an adapter
        model: PreTrainedModel | PeftModel = base
        if target.adapter_dir is not None and target.trains_fully:  # fold the adapter into the weights
            model = _merged(base, target.adapter_dir)
        elif target.adapter_dir is not None:
            model = PeftModel.from_pretrained(base, str(target.adapter_dir), is_trainable=True)
    if fused:
        reporter.on_note(fused)
    return model, tokenizer, max_length


def load_full_model(spec: TrainSpec, reporter: Reporter) -> PreTrainedModel:
    """A full fine-tune's starting weights on their own (DPO's reference): the base model, or a
    parent's base with the parent's adapter folded in. In the policy's float32, not held in
    bfloat16 like a frozen base: the reference must score exactly as the policy did at its start."""
    target = spec.model
    with long_step(reporter, f"{_loading(spec)} as the reference model"):
        base, _ = load_model_and_tokenizer(resolve_model_path(target.source, Path(spec.data_dir)))
        return base if target.adapter_dir is None else _merged(base, target.adapter_dir)


def _loading(spec: TrainSpec) -> str:
    """What loading the job's starting model is called in its events."""
    target = spec.model
    if target.is_fine_tuned:
        return f"Loading the model {target.name} (on {target.base_id})"
    return f"Loading the model {target.base_id}"


def _merged(base: PreTrainedModel, adapter_dir: Path) -> PreTrainedModel:
    return PeftModel.from_pretrained(base, str(adapter_dir), is_trainable=True).merge_and_unload()


def tokenize_files(spec: TrainSpec, tokenize: Tokenize, reporter: Reporter, max_length: int):
    """(training, validation or None) tokenized; truncated examples are reported as warnings."""
    return (
        _tokenize_file(spec.training_file, tokenize, reporter, "training", max_length),
        _tokenize_file(spec.validation_file, tokenize, reporter, "validation", max_length),
    )


def _tokenize_file(path: Path | None, tokenize: Tokenize, reporter: Reporter, name: str, max_length: int):
    if path is None:
        return None
    with long_step(reporter, f"Tokenizing the {name} file"):
        data = tokenize(read_objects(path))
    if data.n_truncated:
        reporter.on_warning(
            f"{data.n_truncated} {name} example(s) are longer than {max_length} tokens "
            "and were truncated to fit"
        )
    return data


def numerics_of(spec: TrainSpec) -> Numerics:
    """The device and dtype the run trains in: the job's choice, else the hardware's."""
    return spec.numerics or numerics.choose()


def trainer_arguments(spec: TrainSpec) -> dict:
    """The TrainingArguments every method's TRL config (SFTConfig, DPOConfig) gets: bfloat16
    mixed precision (float32 weights, bfloat16 matmuls) where numerics.py picks bfloat16."""
    chosen = numerics_of(spec)
    on_gpu = chosen.on_gpu
    return dict(
        output_dir=str(scratch_dir(spec.output_dir)),  # the Trainer writes states here (states.py)
        per_device_train_batch_size=spec.plan.batch_size,
        max_steps=spec.plan.total_steps,  # the plan's count, so the Trainer and the job's events agree
        learning_rate=spec.plan.learning_rate,
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        seed=spec.seed,
        data_seed=spec.seed,
        full_determinism=not on_gpu,
        bf16=chosen.bf16,
        fp16=False,
        use_cpu=not on_gpu,  # what the Trainer needs to run bfloat16 on a CPU
        activation_checkpointing=False,
        logging_strategy="steps",
        logging_steps=1,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_pin_memory=on_gpu,
    )


def peft_config(spec: TrainSpec, model) -> LoraConfig | None:
    """A fresh LoRA adapter; None for a full fine-tune or when a parent's adapter is trained further."""
    if spec.model.trains_fully or isinstance(model, PeftModel):
        return None
    return LoraConfig(
        r=LORA_RANK,
        lora_alpha=LORA_ALPHA,
        lora_dropout=LORA_DROPOUT,
        target_modules=LORA_TARGETS,
        task_type="CAUSAL_LM",
    )


def reporter_callback(
    spec: TrainSpec, reporter: Reporter, tokenizer, *, validator: Validator | None, method: str
) -> ReporterCallback:
    """The callback reporting every step, checkpointing each epoch end, and honouring cancel and pause."""
    return ReporterCallback(
        reporter,
        plan=spec.plan,
        save_checkpoint=lambda model, step: _save_checkpoint(spec, reporter, model, tokenizer, step),
        validator=validator,
        method=method,
    )


def _save_checkpoint(spec: TrainSpec, reporter: Reporter, model, tokenizer, step: int) -> Path:
    with long_step(reporter, f"Saving the checkpoint of step {step}"):
        return checkpoints.save_checkpoint(model, tokenizer, checkpoint_root(spec), step)


def train_to_end(
    trainer, callback: ReporterCallback, spec: TrainSpec, tokenizer, trained_tokens: Callable[[], int]
):
    """Train (from the saved state when there is one, saving states as it goes) in the run's
    precision (precision.py), then save the final model unless stopped. ``trained_tokens`` counts
    the run's tokens once it has trained."""
    callback.save_states(
        states_root(spec.output_dir),
        every_steps=spec.state_every_steps,
        every_seconds=spec.state_every_seconds,
    )
    chosen = numerics_of(spec)
    precision.fast_lora(trainer.model, chosen)
    with precision.autocast(chosen):
        trainer.train(resume_from_checkpoint=str(spec.resume_from) if spec.resume_from else None)
    final = None
    if not callback.stopped:
        with long_step(callback.reporter, "Saving the fine-tuned model"):
            final = checkpoints.save_model(trainer.model, tokenizer, final_dir(spec))
    return TrainResult(
        final_dir=final,
        trained_tokens=trained_tokens(),
        steps=callback.last_step,
        stopped=callback.stopped,
    )

"""SFT: supervised fine-tuning of a causal LM on chat or prompt/completion JSONL, with TRL.

``train_sft`` reads top to bottom: load the model and tokenizer (a base model, or a parent
ft: model whose adapter trains further), tokenize the files (labels built here, so TRL neither
re-templates nor re-masks them), wrap the model with LoRA unless a full fine-tune is asked for,
train with TRL's SFTTrainer (in batches of examples of about the same length, the head and
loss computed on labelled tokens only: buckets.py, token_loss.py), report every step through
the Reporter, checkpoint at each epoch end, and save the final adapter or weights. The steps
shared with DPO live in run.py.
"""

from functools import partial
from typing import Any

from trl import SFTConfig, SFTTrainer

from datasets import Dataset
from openft.train import run
from openft.train.buckets import LengthBuckets
from openft.train.collator import Collator
from openft.train.data import tokenize_rows
from openft.train.evaluation import TokenScorer, Validator
from openft.train.micro_batches import TOKEN_BUDGET, MicroBatchSteps
from openft.train.reporter import Reporter
from openft.train.spec import TrainResult, TrainSpec
from openft.train.token_loss import labelled_loss, plain_head


class SFTTrainerOnLabels(MicroBatchSteps, SFTTrainer):
    """SFTTrainer drawing length-bucketed batches (buckets.py), running them in micro-batches of a
    token budget (micro_batches.py) and computing the head and loss only on labelled tokens
    (token_loss.py); the figures it logs are TRL's."""

    def _get_train_sampler(self, train_dataset: Any = None) -> LengthBuckets:
        dataset: Any = self.train_dataset if train_dataset is None else train_dataset
        lengths = [len(ids) for ids in dataset["input_ids"]]
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthBuckets(lengths, batch_size=batch, seed=self.args.data_seed or self.args.seed)

    def compute_loss(
        self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        if return_outputs or not plain_head(model):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        result = labelled_loss(model, inputs, num_items_in_batch)
        mode = "train" if model.training else "eval"
        accuracy = result.correct.item() / max(result.tokens.item(), 1)
        self._metrics[mode]["mean_token_accuracy"].append(accuracy)
        if mode == "train":
            self._total_train_tokens += int(inputs["attention_mask"].sum().item())
            self._metrics[mode]["num_tokens"] = [self._total_train_tokens]
        return result.loss


def train_sft(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    model, tokenizer, max_length = run.load_model(spec, reporter)
    tokenize = partial(tokenize_rows, tokenizer=tokenizer, fmt=spec.fmt, max_length=max_length)
    train, valid = run.tokenize_files(spec, tokenize, reporter, max_length)

    collator = Collator(pad_token_id=tokenizer.pad_token_id)
    validator = None
    if valid is not None:
        validator = Validator(valid.examples, batch_size=spec.plan.batch_size, score=TokenScorer(collator))
    callback = run.reporter_callback(spec, reporter, tokenizer, validator=validator, method="supervised")
    trainer = SFTTrainerOnLabels(
        model=model,
        args=_sft_config(spec),
        data_collator=collator,
        train_dataset=Dataset.from_list(train.examples),
        processing_class=tokenizer,
        peft_config=run.peft_config(spec, model),
        callbacks=[callback],
    )
    trainer.token_budget = TOKEN_BUDGET[run.numerics_of(spec).device]
    return run.train_to_end(trainer, callback, spec, tokenizer, lambda: train.n_tokens * spec.plan.n_epochs)


def _sft_config(spec: TrainSpec) -> SFTConfig:
    return SFTConfig(
        **run.trainer_arguments(spec),
        max_length=None,  # examples are truncated (and counted) in data.py
        packing=False,
        dataset_kwargs={"skip_prepare_dataset": True},
    )

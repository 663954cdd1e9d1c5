"""DPO: preference fine-tuning (direct preference optimization) with TRL's DPOTrainer.

``train_dpo`` reads top to bottom like ``train_sft``: load the model and tokenizer (a base
model, or a parent ft: model whose adapter trains further: the usual SFT-then-DPO recipe),
tokenize the preference pairs through the same chat rendering as SFT, train with TRL's
DPOTrainer, report every step through the Reporter (loss, rewards of the chosen and rejected
answers, reward margin and accuracy), checkpoint at each epoch end, and save the final adapter
or weights. The steps shared with SFT live in run.py.

The reference policy is the model as the job starts: with a fresh LoRA adapter TRL disables
the adapter; with a parent's adapter TRL keeps a frozen copy of it (adapter "ref"); for a full
fine-tune a second copy of the starting weights is loaded.
"""

from functools import partial
from typing import Any

from trl import DPOConfig, DPOTrainer

from datasets import Dataset
from openft.train import run
from openft.train.buckets import LengthBuckets
from openft.train.evaluation import MAX_EVAL_BATCH, PreferenceScorer, Validator
from openft.train.micro_batches import TOKEN_BUDGET, MicroBatchSteps
from openft.train.preference import longest, tokenize_preferences
from openft.train.reporter import Reporter
from openft.train.spec import TrainResult, TrainSpec
from openft.train.token_loss import compact_fused_heads


class PretokenizedDPOTrainer(MicroBatchSteps, DPOTrainer):
    """A DPOTrainer fed pairs already tokenized by preference.py (like SFT's skip_prepare_dataset),
    drawing batches of pairs of about one length (buckets.py), running them in micro-batches of
    whole pairs (micro_batches.py), the LM head projecting only the answers' tokens (token_loss.py),
    each pair's prompt computed once where that saves work (shared_prompt.py)."""

    paired = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        compact_fused_heads(self.model, self.ref_model)

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        return dataset

    def _get_train_sampler(self, train_dataset: Any = None) -> LengthBuckets:
        dataset: Any = self.train_dataset if train_dataset is None else train_dataset
        lengths = [longest(pair) for pair in dataset]
        batch = self.args.train_batch_size * self.args.gradient_accumulation_steps
        return LengthBuckets(lengths, batch_size=batch, seed=self.args.data_seed or self.args.seed)

    def compute_loss(
        self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        if return_outputs:
            return loss
        return loss * self.micro_share  # the pairs' mean loss, weighed by their share of the batch


def train_dpo(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    model, tokenizer, max_length = run.load_model(spec, reporter)
    tokenize = partial(tokenize_preferences, tokenizer=tokenizer, max_length=max_length)
    train, valid = run.tokenize_files(spec, tokenize, reporter, max_length)

    trainer = PretokenizedDPOTrainer(
        model=model,
        ref_model=run.load_full_model(spec, reporter) if spec.model.trains_fully else None,
        args=_dpo_config(spec),
        train_dataset=Dataset.from_list(train.examples),
        processing_class=tokenizer,
        peft_config=run.peft_config(spec, model),
    )
    trainer.token_budget = TOKEN_BUDGET[run.numerics_of(spec).device]
    validator = None
    if valid is not None:
        validator = Validator(
            valid.examples, batch_size=spec.plan.batch_size, score=PreferenceScorer(trainer)
        )
    callback = run.reporter_callback(spec, reporter, tokenizer, validator=validator, method="dpo")
    trainer.add_callback(callback)
    return run.train_to_end(trainer, callback, spec, tokenizer, lambda: train.n_tokens * spec.plan.n_epochs)


def _dpo_config(spec: TrainSpec) -> DPOConfig:
    return DPOConfig(
        **run.trainer_arguments(spec),
        beta=float(spec.plan.hyperparameters["beta"]),
        loss_type=["sigmoid"],  # the DPO paper's loss
        max_length=None,  # pairs are truncated (and counted) in preference.py
        # The reference runs beside the policy, so a paused job resumes as it was.
        precompute_ref_log_probs=False,
        per_device_eval_batch_size=min(spec.plan.batch_size, MAX_EVAL_BATCH),
        # Validation needs the loss and rewards only, not a pass for the full logits.
        prediction_loss_only=True,
    )

"""SFT: supervised fine-tuning of a causal LM on chat or prompt/completion JSONL, with TRL.

``train_sft`` reads top to bottom: load the model and tokenizer (a base model, or a parent
ft: model whose adapter trains further), tokenize the files (labels built here, so TRL neither
re-templates nor re-masks them), wrap the model with LoRA unless a full fine-tune is asked for,
train with TRL's SFTTrainer, report every step through the Reporter, checkpoint at each epoch
end, and save the final adapter or weights. The steps shared with DPO live in run.py.
"""

from functools import partial

from trl import SFTConfig, SFTTrainer

from datasets import Dataset
from openft.train import run
from openft.train.collator import Collator
from openft.train.data import tokenize_rows
from openft.train.evaluation import TokenScorer, Validator
from openft.train.reporter import Reporter
from openft.train.spec import TrainResult, TrainSpec


def train_sft(spec: TrainSpec, reporter: Reporter) -> TrainResult:
    model, tokenizer, max_length = run.load_model(spec, reporter)
    tokenize = partial(tokenize_rows, tokenizer=tokenizer, fmt=spec.fmt, max_length=max_length)
    train, valid = run.tokenize_files(spec, tokenize, reporter, max_length)

    collator = Collator(pad_token_id=tokenizer.pad_token_id)
    validator = None
    if valid is not None:
        validator = Validator(valid.examples, batch_size=spec.plan.batch_size, score=TokenScorer(collator))
    callback = run.reporter_callback(spec, reporter, tokenizer, validator=validator, method="supervised")
    trainer = SFTTrainer(
        model=model,
        args=_sft_config(spec),
        data_collator=collator,
        train_dataset=Dataset.from_list(train.examples),
        processing_class=tokenizer,
        peft_config=run.peft_config(spec, model),
        callbacks=[callback],
    )
    return run.train_to_end(trainer, callback, spec, tokenizer, lambda: train.n_tokens * spec.plan.n_epochs)


def _sft_config(spec: TrainSpec) -> SFTConfig:
    return SFTConfig(
        **run.trainer_arguments(spec),
        max_length=None,  # examples are truncated (and counted) in data.py
        packing=False,
        dataset_kwargs={"skip_prepare_dataset": True},
    )

"""Evaluation: the model scored on validation examples, as valid_* and full_valid_* metrics.

A validator scores a small batch (taken in turn through the validation set) for the valid_*
metrics of a step, and the whole set for the full_valid_* metrics of an epoch end.
What a score holds depends on the method: ``TokenScorer`` (SFT) gives loss and mean token
accuracy on the same labels as training; ``PreferenceScorer`` (DPO) gives the DPO loss and
rewards through the trainer's own evaluation. Both run without gradients and leave the model in
the training mode they found it in.
"""

from collections.abc import Callable

import torch

from datasets import Dataset
from openft.train.collator import Collator
from openft.train.data import IGNORE_INDEX
from openft.train.metrics import named, prefixed

MAX_EVAL_BATCH = 4

Score = Callable[[object, list[dict]], dict]  # (model, examples) -> {"loss": ..., ...}


class Validator:
    def __init__(self, examples: list[dict], *, batch_size: int, score: Score):
        self.examples = examples
        self.batch_size = max(1, min(batch_size, len(examples)))
        self.score = score
        self._next = 0

    def scores(self, model, *, mini_batch: bool, full: bool) -> dict:
        """valid_* figures on the next ``batch_size`` examples and/or full_valid_* ones on them all
        (scored once when the mini-batch is the whole validation set)."""
        whole = self.score(model, self.examples) if full else None
        figures = prefixed(whole, "full_valid_") if whole is not None else {}
        if mini_batch:
            batch = self._next_batch()
            whole_batch = len(batch) == len(self.examples)
            scored = whole if whole is not None and whole_batch else self.score(model, batch)
            figures.update(prefixed(scored, "valid_"))
        return figures

    def _next_batch(self) -> list[dict]:
        picked = [self.examples[(self._next + i) % len(self.examples)] for i in range(self.batch_size)]
        self._next = (self._next + self.batch_size) % len(self.examples)
        return picked


class TokenScorer:
    """Loss and mean token accuracy over the labelled tokens (assistant answers / completions)."""

    def __init__(self, collator: Collator):
        self.collator = collator

    def __call__(self, model, examples: list[dict]) -> dict:
        was_training = model.training
        model.eval()
        totals = torch.zeros(3, dtype=torch.float64)  # loss sum, correct tokens, scored tokens
        try:
            with torch.no_grad():
                for start in range(0, len(examples), MAX_EVAL_BATCH):
                    totals += _batch_totals(model, self.collator(examples[start : start + MAX_EVAL_BATCH]))
        finally:
            model.train(was_training)
        scored = max(totals[2].item(), 1.0)
        return {"loss": totals[0].item() / scored, "mean_token_accuracy": totals[1].item() / scored}


class PreferenceScorer:
    """DPO loss, rewards, margin and accuracy from ``trainer.evaluate`` on tokenized preference pairs."""

    def __init__(self, trainer):
        self.trainer = trainer

    def __call__(self, model, examples: list[dict]) -> dict:
        was_training, flags = model.training, _flags(self.trainer.control)
        try:
            logs = self.trainer.evaluate(eval_dataset=Dataset.from_list(examples))
        finally:
            model.train(was_training)  # the step's own log reads the model's mode to pick the train figures
            _restore(self.trainer.control, flags)  # evaluate() clears should_log: the step would go unlogged
        return named(logs, "dpo", "", log_prefix="eval_")


CONTROL_FLAGS = ("should_log", "should_evaluate", "should_save", "should_training_stop")


def _flags(control) -> dict:
    return {name: getattr(control, name) for name in CONTROL_FLAGS}


def _restore(control, flags: dict) -> None:
    for name, value in flags.items():
        setattr(control, name, value)


def _batch_totals(model, batch: dict) -> torch.Tensor:
    device = next(model.parameters()).device
    labels = batch["labels"][:, 1:].to(device)
    logits = model(
        input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)
    ).logits
    logits = logits[:, :-1].float()
    scored = labels != IGNORE_INDEX
    loss = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    correct = ((logits.argmax(-1) == labels) & scored).sum()
    return torch.stack([loss.double().cpu(), correct.double().cpu(), scored.sum().double().cpu()])

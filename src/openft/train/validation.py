"""Validation: loss and mean token accuracy of the model on validation examples.

``mini_batch`` scores a small batch (taken in turn through the validation set) for the
valid_* metrics of a step; ``full`` scores the whole set for the full_valid_* metrics of an
epoch end. Both use the same labels as training (assistant answers / completions only), run
without gradients in eval mode, and restore the model's training mode afterwards.
"""

import torch

from openft.train.collator import Collator
from openft.train.data import IGNORE_INDEX

MAX_EVAL_BATCH = 4


class Validator:
    def __init__(self, examples: list[dict], *, batch_size: int, collator: Collator):
        self.examples = examples
        self.batch_size = max(1, min(batch_size, len(examples)))
        self.collator = collator
        self._next = 0

    def mini_batch(self, model) -> dict:
        """valid_loss / valid_mean_token_accuracy on the next ``batch_size`` validation examples."""
        picked = [self.examples[(self._next + i) % len(self.examples)] for i in range(self.batch_size)]
        self._next = (self._next + self.batch_size) % len(self.examples)
        loss, accuracy = self._score(model, picked)
        return {"valid_loss": loss, "valid_mean_token_accuracy": accuracy}

    def full(self, model) -> dict:
        """full_valid_loss / full_valid_mean_token_accuracy on every validation example."""
        loss, accuracy = self._score(model, self.examples)
        return {"full_valid_loss": loss, "full_valid_mean_token_accuracy": accuracy}

    def _score(self, model, examples: list[dict]) -> tuple[float, float]:
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
        return totals[0].item() / scored, totals[1].item() / scored


def _batch_totals(model, batch: dict) -> torch.Tensor:
    device = next(model.parameters()).device
    labels = batch["labels"][:, 1:].to(device)
    logits = model(input_ids=batch["input_ids"].to(device), attention_mask=batch["attention_mask"].to(device)).logits
    logits = logits[:, :-1].float()
    scored = labels != IGNORE_INDEX
    loss = torch.nn.functional.cross_entropy(
        logits.transpose(1, 2), labels, ignore_index=IGNORE_INDEX, reduction="sum"
    )
    correct = ((logits.argmax(-1) == labels) & scored).sum()
    return torch.stack([loss.double().cpu(), correct.double().cpu(), scored.sum().double().cpu()])

"""Micro-batches: one training step's batch run as several forward and backward passes, each of
at most a token budget, their gradients summed before the optimizer steps.

Without activation checkpointing (openft's choice: it recomputes the whole forward) a step keeps
every layer's activations of every token of the batch, some 3 MB a token for SmolLM2-135M with
LoRA: a batch of 8 chats of ~500 tokens would need 12 GB, a DPO batch twice that. Rows are
taken longest first (buckets.py already makes a batch's rows about one length) into groups of at
most ``token_budget`` padded tokens (a row, or a DPO pair, alone may be longer), each trimmed of
the padding its own rows do not need. The step is the same step: SFT divides each group's summed
loss by the whole batch's labelled tokens, DPO weighs each group's mean loss by its share of the
pairs. RFT samples a step's completions at once and trains them in equal passes of at most the
budget (``rows_per_pass``: TRL's gradient accumulation, which normalizes the loss over the step).
"""

import torch

# Padded tokens a forward pass may hold: a CPU saturates its cores on small passes; a GPU wants more.
TOKEN_BUDGET = {"cpu": 1024, "cuda": 16384}


def rows_per_pass(rows: int, row_tokens: int, token_budget: int) -> int:
    """How many of a step's ``rows`` (of up to ``row_tokens`` tokens each) one pass takes: the most
    that fit ``token_budget`` and divide the rows evenly, at least one. RFT's micro-batches (TRL's
    gradient accumulation over one generation batch)."""
    fitting = max(1, token_budget // max(1, row_tokens))
    return max(size for size in range(1, rows + 1) if rows % size == 0 and size <= fitting)


def row_groups(lengths: list[int], token_budget: int) -> list[list[int]]:
    """The rows, longest first, grouped while rows x the group's longest row fits ``token_budget``
    (a row longer than the budget is a group of its own)."""
    groups: list[list[int]] = []
    for row in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        if groups and (len(groups[-1]) + 1) * lengths[groups[-1][0]] <= token_budget:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def take_rows(inputs: dict, rows: list[int]) -> dict:
    """The batch's ``rows`` (every tensor with a row per example), cut to their longest row."""
    n = inputs["attention_mask"].shape[0]
    index = torch.tensor(rows, device=inputs["attention_mask"].device)
    width = int(inputs["attention_mask"][index].sum(dim=1).max().item())
    taken = {}
    for key, value in inputs.items():
        if isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == n:
            rows_of = value[index]
            taken[key] = rows_of[:, :width] if rows_of.dim() == 2 else rows_of
        else:
            taken[key] = value
    return taken


class MicroBatchSteps:
    """A Trainer mixin (listed before the trainer): ``training_step`` runs the batch in micro-batches.
    ``paired`` batches (DPO) hold the chosen rows then the rejected rows: a pair stays together."""

    token_budget = TOKEN_BUDGET["cpu"]
    paired = False
    micro_share = 1.0  # the running group's share of the batch's pairs (DPO weighs its loss by it)

    def training_step(self, model, inputs, num_items_in_batch=None):
        groups = self._groups(inputs)
        if len(groups) == 1:
            return super().training_step(model, inputs, num_items_in_batch)  # type: ignore[misc]
        if num_items_in_batch is None and "labels" in inputs:
            num_items_in_batch = (inputs["labels"][:, 1:] != -100).sum()
        total = None
        try:
            for rows, share in groups:
                self.micro_share = share
                part = take_rows(inputs, rows)
                loss = super().training_step(model, part, num_items_in_batch)  # type: ignore[misc]
                total = loss if total is None else total + loss
        finally:
            self.micro_share = 1.0
        return total

    def _groups(self, inputs: dict) -> list[tuple[list[int], float]]:
        lengths = inputs["attention_mask"].sum(dim=1).tolist()
        if not self.paired:
            return [(rows, len(rows) / len(lengths)) for rows in row_groups(lengths, self.token_budget)]
        pairs = len(lengths) // 2
        widest = [max(lengths[i], lengths[pairs + i]) for i in range(pairs)]
        groups = row_groups(widest, self.token_budget // 2)
        return [(rows + [pairs + i for i in rows], len(rows) / pairs) for rows in groups]

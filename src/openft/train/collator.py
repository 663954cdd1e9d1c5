"""Collator: pads tokenized examples into a batch without touching their labels.

Padding uses the tokenizer's pad token (never the end-of-turn token, see models.fix_pad_token)
with attention mask 0 and label -100, on the right; the labels built in data.py are kept as
they are, so the assistant's end-of-turn token stays in the loss.
"""

from dataclasses import dataclass

import torch

from openft.train.data import IGNORE_INDEX


@dataclass
class Collator:
    pad_token_id: int

    def __call__(self, examples: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(example["input_ids"]) for example in examples)
        batch: dict[str, list[list[int]]] = {"input_ids": [], "attention_mask": [], "labels": []}
        for example in examples:
            length = len(example["input_ids"])
            gap = width - length
            batch["input_ids"].append([*example["input_ids"], *[self.pad_token_id] * gap])
            batch["attention_mask"].append([1] * length + [0] * gap)
            batch["labels"].append([*example["labels"], *[IGNORE_INDEX] * gap])
        return {key: torch.tensor(rows, dtype=torch.long) for key, rows in batch.items()}
